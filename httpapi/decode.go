package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// MaxBodyBytes is the largest accepted request body (1 MiB).
const MaxBodyBytes = 1 << 20

// MaxBudget caps a budget in dollars so that cents fit comfortably in an
// int64 and a dynamic-programming table stays bounded by the customers,
// not by the budget.
const MaxBudget = 1e9

// decodeBody reads a JSON object into v, rejecting unknown fields, null
// values, repeated keys, trailing data and bodies over MaxBodyBytes. A
// body that arrives too slowly for the server's read timeout gets 408.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	if r.ContentLength > MaxBodyBytes {
		return &http.MaxBytesError{Limit: MaxBodyBytes}
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var maxErr *http.MaxBytesError
		var netErr net.Error
		switch {
		case errors.As(err, &maxErr):
			return err
		case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
			return errorf(http.StatusRequestTimeout, "the request body did not arrive within the server's read timeout; send it again")
		}
		return errorf(http.StatusBadRequest, "read request body: %v", err)
	}
	if verr := checkTopLevel(raw); verr != nil {
		return verr
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &ValidationError{Fields: []FieldError{{Loc: []any{"body"},
			Msg: "request body must contain a single JSON object", Type: "json_invalid"}}}
	}
	return nil
}

// checkTopLevel rejects null values and repeated keys in a JSON object,
// which encoding/json would silently turn into a default or the last value.
// Malformed JSON is left to the decoder, which reports it with an offset.
func checkTopLevel(raw []byte) *ValidationError {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	seen := map[string]bool{}
	var errs []FieldError
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := t.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil
		}
		switch {
		case seen[key]:
			errs = append(errs, FieldError{Loc: []any{"body", key}, Msg: fmt.Sprintf("field %q is given more than once; send it once", key), Type: "duplicate"})
		case string(bytes.TrimSpace(value)) == "null":
			errs = append(errs, FieldError{Loc: []any{"body", key}, Msg: fmt.Sprintf("field %q is null; leave it out to use the default, or give a value", key), Type: "null"})
		}
		seen[key] = true
	}
	if len(errs) == 0 {
		return nil
	}
	return &ValidationError{Fields: errs}
}

// decodeError turns an encoding/json error into a 422 naming the field.
func decodeError(err error) error {
	var maxErr *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &maxErr):
		return err
	case errors.Is(err, io.EOF):
		return &ValidationError{Fields: []FieldError{{Loc: []any{"body"},
			Msg: "request body is empty; send a JSON object", Type: "missing"}}}
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return &ValidationError{Fields: []FieldError{{Loc: []any{"body"},
				Msg: fmt.Sprintf("request body must be a JSON object, not %s", typeErr.Value), Type: "model_type"}}}
		}
		return invalid(field, fmt.Sprintf("must be of type %s, got %s", jsonType(typeErr.Type.Kind().String()), typeErr.Value), "type_error")
	case errors.As(err, &syntaxErr):
		return &ValidationError{Fields: []FieldError{{Loc: []any{"body", syntaxErr.Offset},
			Msg: "invalid JSON: " + syntaxErr.Error(), Type: "json_invalid"}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalid(field, fmt.Sprintf("unknown field %q; check its spelling", field), "extra_forbidden")
	default:
		return &ValidationError{Fields: []FieldError{{Loc: []any{"body"}, Msg: "invalid JSON: " + err.Error(), Type: "json_invalid"}}}
	}
}

func jsonType(kind string) string {
	switch kind {
	case "float64", "int", "int64":
		return "number"
	case "bool":
		return "boolean"
	case "ptr":
		return "the documented type"
	}
	return kind
}

// runRequest is the body of POST /pipeline/run and, without the two flags,
// of POST /phase4/optimize. Pointers tell a missing field from a zero one.
type runRequest struct {
	Split        *string  `json:"split"`
	Model        *string  `json:"model"`
	Budget       *float64 `json:"budget"`
	RunSweep     *bool    `json:"run_sweep"`
	RunScenarios *bool    `json:"run_scenarios"`
}

type optimizeRequest struct {
	Split  *string  `json:"split"`
	Model  *string  `json:"model"`
	Budget *float64 `json:"budget"`
}

// DefaultBudget is the budget in dollars when a request gives none.
const DefaultBudget = 7500

// validated holds request values after defaults and checks.
type validated struct {
	Split, Model string
	Budget       float64
}

// validate checks split, model and budget and applies the defaults,
// collecting every problem so the client can fix them in one go.
func validate(split, model *string, budget *float64) (validated, error) {
	v := validated{Model: dataset.ModelEnsemble, Budget: DefaultBudget}
	var errs []FieldError
	switch {
	case split == nil:
		errs = append(errs, FieldError{Loc: []any{"body", "split"}, Msg: "field required: one of train, val, test", Type: "missing"})
	case !slices.Contains(dataset.Splits, *split):
		errs = append(errs, FieldError{Loc: []any{"body", "split"},
			Msg: fmt.Sprintf("invalid split %q: use one of train, val, test", *split), Type: "enum"})
	default:
		v.Split = *split
	}
	if model != nil {
		if !slices.Contains(dataset.Models, *model) {
			errs = append(errs, FieldError{Loc: []any{"body", "model"},
				Msg: fmt.Sprintf("invalid model %q: use one of %s", *model, strings.Join(dataset.Models, ", ")), Type: "enum"})
		} else {
			v.Model = *model
		}
	}
	if budget != nil {
		b := *budget
		if math.IsNaN(b) || math.IsInf(b, 0) || b <= 0 || b > MaxBudget {
			errs = append(errs, FieldError{Loc: []any{"body", "budget"},
				Msg: fmt.Sprintf("invalid budget %v: must be greater than 0 and at most %.0f dollars", b, float64(MaxBudget)), Type: "value_error"})
		} else {
			v.Budget = b
		}
	}
	if len(errs) > 0 {
		return v, &ValidationError{Fields: errs}
	}
	return v, nil
}
