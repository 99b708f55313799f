package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/fluxcd/pkg/apis/kustomize"
	"github.com/fluxcd/pkg/runtime/cel"
)

type fluxInput struct {
	// Exprs is one entry of a Kustomization's spec.healthCheckExprs (apiVersion, kind, current,
	// inProgress, failed), exactly as written in the Kustomization.
	Exprs   kustomize.CustomHealthCheck `json:"exprs"`
	Objects []json.RawMessage           `json:"objects"`
}

// judgeFluxCEL evaluates a healthCheckExprs entry on each object through the status reader the
// kustomize-controller registers with its poller for that entry, so that an expression that fails to
// evaluate comes out as the controller sees it (Unknown, with the error) rather than as a crash here.
func judgeFluxCEL(input []byte) ([]verdict, error) {
	var in fluxInput
	if err := json.Unmarshal(input, &in); err != nil {
		return nil, fmt.Errorf("fluxcel input must be {\"exprs\": {...}, \"objects\": [...]}: %w", err)
	}
	newReader, err := cel.NewStatusReader([]kustomize.CustomHealthCheck{in.Exprs})
	if err != nil {
		return nil, err
	}
	// The RESTMapper and the ClusterReader serve only to fetch objects from a cluster;
	// ReadStatusForObject is handed the object itself, so neither is needed.
	reader := newReader(nil)
	objects, err := decodeObjects(in.Objects)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	verdicts := make([]verdict, 0, len(objects))
	for i, u := range objects {
		rs, err := reader.ReadStatusForObject(ctx, nil, u)
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", i, err)
		}
		v := verdict{Status: string(rs.Status), Message: rs.Message}
		if rs.Error != nil {
			v.Error = rs.Error.Error()
		}
		verdicts = append(verdicts, v)
	}
	return verdicts, nil
}
