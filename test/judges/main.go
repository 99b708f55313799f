// Command judges runs the health rules of the tools GitOps users read on DebugSession objects, with
// those tools' own code, so that a test can assert what each tool will show:
//
//	judges kstatus < [object, ...]                             prints [{status, message}, ...]
//	judges fluxcel < {"exprs": entry, "objects": [object, ...]} prints [{status, message}, ...]
//
// kstatus is sigs.k8s.io/cli-utils' status.Compute (kubectl-style waiters, kpt, cli-utils appliers);
// fluxcel is Flux's evaluator of a Kustomization's spec.healthCheckExprs entry. The Argo CD judge
// is a Lua runner beside this file (argocd-run.lua), since Argo CD runs Lua, not Go.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// verdict is one judge's answer for one object. Error is set when the judge could not decide; the
// status is then what the tool itself reports in that case (Unknown).
type verdict struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Error   string `json:"error,omitempty"`
}

func main() {
	if len(os.Args) != 2 {
		fail(fmt.Errorf("usage: judges kstatus|fluxcel < input.json"))
	}
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail(fmt.Errorf("reading stdin: %w", err))
	}
	var verdicts []verdict
	switch os.Args[1] {
	case "kstatus":
		verdicts, err = judgeKstatus(input)
	case "fluxcel":
		verdicts, err = judgeFluxCEL(input)
	default:
		err = fmt.Errorf("unknown judge %q (want kstatus or fluxcel)", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(verdicts); err != nil {
		fail(fmt.Errorf("writing stdout: %w", err))
	}
}

// decodeObjects reads objects the way client-go does from an apiserver response: whole numbers
// become int64, which both judges need (kstatus and Flux read metadata.generation with NestedInt64;
// plain encoding/json would give float64 and the generation checks would silently not run).
func decodeObjects(raw []json.RawMessage) ([]*unstructured.Unstructured, error) {
	objects := make([]*unstructured.Unstructured, 0, len(raw))
	for i, r := range raw {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(r); err != nil {
			return nil, fmt.Errorf("object %d: %w", i, err)
		}
		objects = append(objects, u)
	}
	return objects, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "judges:", err)
	os.Exit(1)
}
