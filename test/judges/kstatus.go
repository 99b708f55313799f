package main

import (
	"encoding/json"
	"fmt"

	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// judgeKstatus computes kstatus' status of each object of a JSON array.
func judgeKstatus(input []byte) ([]verdict, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(input, &raw); err != nil {
		return nil, fmt.Errorf("kstatus input must be a JSON array of objects: %w", err)
	}
	objects, err := decodeObjects(raw)
	if err != nil {
		return nil, err
	}
	verdicts := make([]verdict, 0, len(objects))
	for _, u := range objects {
		res, err := status.Compute(u)
		if err != nil {
			// The kstatus poller reports a failing status function as Unknown with the error.
			verdicts = append(verdicts, verdict{Status: string(status.UnknownStatus), Error: err.Error()})
			continue
		}
		verdicts = append(verdicts, verdict{Status: string(res.Status), Message: res.Message})
	}
	return verdicts, nil
}
