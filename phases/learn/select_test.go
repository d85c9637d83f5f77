package learn

import (
	"encoding/json"
	"reflect"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestFixedReturnsFit(t *testing.T) {
	fit := Ridge(1)
	sel := Fixed(fit, "ridge", map[string]float64{"alpha": 1})
	x := mat.NewDense(4, 1, []float64{1, 2, 3, 4})
	y := []float64{2, 4, 6, 8}
	got, choice, err := sel(t.Context(), x, y, 7)
	if err != nil {
		t.Fatal(err)
	}
	if choice.Learner != "ridge" || string(choice.Params) != `{"alpha":1}` || choice.Search != nil {
		t.Errorf("choice = %s %s %s, want ridge {\"alpha\":1} and no search", choice.Learner, choice.Params, choice.Search)
	}
	predict, err := got(t.Context(), x, y)
	if err != nil {
		t.Fatal(err)
	}
	want, err := fit(t.Context(), x, y)
	if err != nil {
		t.Fatal(err)
	}
	if p, q := predict(x), want(x); !reflect.DeepEqual(p, q) {
		t.Errorf("Fixed fit predicts %v, the learner %v", p, q)
	}
}

func TestFixedPanicsOnUnencodableParams(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Fixed with a channel as params did not panic")
		}
	}()
	Fixed(Ridge(1), "ridge", make(chan int))
}

// TestChoiceRoundTripIndented checks that a Choice written inside an
// indented file reads back equal to the original.
func TestChoiceRoundTripIndented(t *testing.T) {
	in := Choice{Learner: "gbt", Params: json.RawMessage(`{"trees":3,"rate":[0.1,0.2]}`), Search: json.RawMessage(`{"trials":[]}`)}
	raw, err := json.MarshalIndent(map[string]Choice{"a": in}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]Choice
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out["a"], in) {
		t.Errorf("round trip gave %s %s %s, want %s %s %s",
			out["a"].Learner, out["a"].Params, out["a"].Search, in.Learner, in.Params, in.Search)
	}
	var empty Choice
	if err := json.Unmarshal([]byte(`{"learner":"ridge"}`), &empty); err != nil || empty.Params != nil || empty.Search != nil {
		t.Errorf("choice without params = %+v (%v), want nil params and search", empty, err)
	}
	if err := json.Unmarshal([]byte(`{"learner":1}`), &empty); err == nil {
		t.Error("a numeric learner name decoded without error")
	}
}
