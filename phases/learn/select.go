package learn

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// Choice records the learner that a SelectFunc picked for one task, for
// the model files of a run.
type Choice struct {
	// Learner names the model family, for example "gbt" or "logistic".
	Learner string `json:"learner"`
	// Params are the hyper-parameters of the returned FitFunc, as JSON.
	Params json.RawMessage `json:"params,omitempty"`
	// Search describes the hyper-parameter search that chose Params, as
	// JSON, and is empty when none ran.
	Search json.RawMessage `json:"search,omitempty"`
}

// UnmarshalJSON decodes a Choice and compacts Params and Search, which
// json.Marshal writes compact, so that a Choice read back from an indented
// file equals the one written.
func (c *Choice) UnmarshalJSON(data []byte) error {
	type plain Choice
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	for _, raw := range []*json.RawMessage{&p.Params, &p.Search} {
		if len(*raw) == 0 {
			continue
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, *raw); err != nil {
			return err
		}
		*raw = buf.Bytes()
	}
	*c = Choice(p)
	return nil
}

// SelectFunc picks a learner for one task from that task's training data,
// for example by a seeded hyper-parameter search with cross-validation on
// x and y, and returns the FitFunc to use for the task with a record of
// the choice. Classifiers take 0/1 targets. The same seed must give the
// same choice.
type SelectFunc func(ctx context.Context, x *mat.Dense, y []float64, seed uint64) (FitFunc, Choice, error)

// Fixed returns a SelectFunc that ignores the data and always returns fit,
// recorded under the name learner with params encoded as JSON. It panics
// when params cannot be encoded, which is a programming error.
func Fixed(fit FitFunc, learner string, params any) SelectFunc {
	raw, err := json.Marshal(params)
	if err != nil {
		panic(fmt.Sprintf("learn: encode params of %s: %v", learner, err))
	}
	choice := Choice{Learner: learner, Params: raw}
	return func(context.Context, *mat.Dense, []float64, uint64) (FitFunc, Choice, error) {
		return fit, choice, nil
	}
}
