package prepare

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// record builds a test record with the given numeric and categorical
// values; columns not given are missing.
func record(id string, num map[string]float64, cat map[string]string) Record {
	r := Record{CustomerID: id, Numeric: map[string]float64{"tenure": 0}, Categorical: map[string]string{}}
	for k, v := range num {
		r.Numeric[k] = v
	}
	if t, ok := num["tenure"]; ok {
		r.Tenure = t
	}
	for k, v := range cat {
		r.Categorical[k] = v
	}
	return r
}

func TestEncoderImputesMedianAndMode(t *testing.T) {
	train := []Record{
		record("a", map[string]float64{"MonthlyCharges": 20, "SeniorCitizen": 0, "tenure": 1}, map[string]string{"Contract": "One year"}),
		record("b", map[string]float64{"MonthlyCharges": 80, "SeniorCitizen": 1, "tenure": 5}, map[string]string{"Contract": "Two year"}),
		record("c", map[string]float64{"MonthlyCharges": 50, "tenure": 9}, map[string]string{"Contract": "Two year"}),
		record("d", map[string]float64{"MonthlyCharges": 30, "tenure": 2}, map[string]string{"Contract": "One year"}),
		record("e", map[string]float64{"tenure": 4}, nil), // charges and contract missing
	}
	enc, _ := FitEncoder(train)
	// MonthlyCharges 20, 30, 50, 80: median (30 + 50) / 2 = 40.
	// SeniorCitizen 0, 1: median 0.5. tenure 1, 2, 4, 5, 9: median 4.
	want := map[string]float64{"MonthlyCharges": 40, "SeniorCitizen": 0.5, "tenure": 4}
	for col, m := range want {
		if enc.Medians[col] != m {
			t.Errorf("median of %s = %v, want %v", col, enc.Medians[col], m)
		}
	}
	// Two of each contract: the tie goes to the value first in byte order.
	if enc.Modes["Contract"] != "One year" {
		t.Errorf("mode of Contract = %q, want %q", enc.Modes["Contract"], "One year")
	}

	f, stats, err := enc.Transform(train[4:])
	if err != nil {
		t.Fatal(err)
	}
	if got := f.X.At(0, f.Index("MonthlyCharges")); got != 40 {
		t.Errorf("missing MonthlyCharges encoded as %v, want the median 40", got)
	}
	if got := f.X.At(0, f.Index("Contract_One year")); got != 1 {
		t.Errorf("missing Contract: One year indicator %v, want 1 (the mode)", got)
	}
	if stats.Imputed["MonthlyCharges"] != 1 || stats.Imputed["SeniorCitizen"] != 1 || stats.Imputed["Contract"] != 1 {
		t.Errorf("imputed counts %v, want 1 for MonthlyCharges, SeniorCitizen and Contract", stats.Imputed)
	}
}

func TestEncoderUnseenCategory(t *testing.T) {
	train := []Record{
		record("a", nil, map[string]string{"PaymentMethod": "Mailed check"}),
		record("b", nil, map[string]string{"PaymentMethod": "Electronic check"}),
	}
	enc, _ := FitEncoder(train)
	want := []string{"PaymentMethod_Electronic check", "PaymentMethod_Mailed check"}
	var got []string
	for _, n := range enc.Features {
		if strings.HasPrefix(n, "PaymentMethod_") {
			got = append(got, n)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("PaymentMethod features %q, want %q", got, want)
	}

	test := []Record{record("c", nil, map[string]string{"PaymentMethod": "Crypto wallet"})}
	f, stats, err := enc.Transform(test)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range want {
		if v := f.X.At(0, f.Index(n)); v != 0 {
			t.Errorf("unseen category: %s = %v, want 0", n, v)
		}
	}
	if f.Index("PaymentMethod_Crypto wallet") >= 0 {
		t.Error("an unseen category got a column")
	}
	if stats.Unseen["PaymentMethod"] != 1 {
		t.Errorf("unseen counts %v, want PaymentMethod 1", stats.Unseen)
	}
}

func TestEncoderNoTrainingValues(t *testing.T) {
	enc, warnings := FitEncoder([]Record{record("a", nil, nil)})
	if enc.Medians["MonthlyCharges"] != 0 {
		t.Errorf("median without values %v, want 0", enc.Medians["MonthlyCharges"])
	}
	if len(enc.Features) != 3 {
		t.Errorf("features %q, want the 3 numeric ones only", enc.Features)
	}
	// MonthlyCharges, SeniorCitizen and the 15 categorical columns.
	if len(warnings) != 17 {
		t.Errorf("%d warnings, want 17: %q", len(warnings), warnings)
	}
	if err := enc.check(); err != nil {
		t.Errorf("check: %v", err)
	}
}

func TestEncoderCheck(t *testing.T) {
	train := []Record{record("a", map[string]float64{"MonthlyCharges": 1}, map[string]string{"gender": "Male"})}
	cases := []struct {
		name    string
		corrupt func(e *Encoder)
	}{
		{"MissingMedian", func(e *Encoder) { delete(e.Medians, "tenure") }},
		{"UnsortedCategories", func(e *Encoder) { e.Categories["gender"] = []string{"Male", "Female"} }},
		{"ModeNotCategory", func(e *Encoder) { e.Modes["gender"] = "Other" }},
		{"FeatureNames", func(e *Encoder) { e.Features = e.Features[1:] }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			enc, _ := FitEncoder(train)
			if err := enc.check(); err != nil {
				t.Fatalf("fresh encoder: %v", err)
			}
			tc.corrupt(enc)
			if err := enc.check(); err == nil {
				t.Error("check accepted a broken encoder")
			}
		})
	}
}

// TestRunFitsOnTrainOnly gives one customer a payment method that no one
// else has. When that customer is held out, the category must get no
// column and the customer's PaymentMethod indicators must all be zero.
func TestRunFitsOnTrainOnly(t *testing.T) {
	header, rows := sampleTable(t, 60)
	rows = cloneRows(rows)
	const odd = "Crypto wallet"
	rows[7][colIndex(t, header, "PaymentMethod")] = odd
	id := rows[7][colIndex(t, header, "customerID")]
	data := toCSV(t, header, rows)

	// Find a seed that holds the customer out; with 30% held out, one of
	// the first 20 seeds does unless the split ignores the seed.
	for seed := uint64(1); seed <= 20; seed++ {
		res, err := Run(context.Background(), Input{Data: data}, Config{Seed: seed, HoldoutFraction: 0.3}, discard)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(res.Train.IDs, id) {
			if res.Train.Index(dataset.OneHot("PaymentMethod", odd)) < 0 {
				t.Fatalf("seed %d: category in training but no column", seed)
			}
			continue
		}
		if j := res.Train.Index(dataset.OneHot("PaymentMethod", odd)); j >= 0 {
			t.Fatalf("seed %d: held-out category got column %d", seed, j)
		}
		for _, s := range []string{dataset.Val, dataset.Test} {
			f := res.Split(s)
			i := slices.Index(f.IDs, id)
			if i < 0 {
				continue
			}
			for j, name := range f.Names {
				if strings.HasPrefix(name, "PaymentMethod_") && f.X.At(i, j) != 0 {
					t.Errorf("seed %d: held-out customer has %s = %v, want 0", seed, name, f.X.At(i, j))
				}
			}
		}
		found := slices.ContainsFunc(res.Manifest.Warnings, func(w string) bool {
			return strings.Contains(w, "not seen in training") && strings.Contains(w, "PaymentMethod 1")
		})
		if !found {
			t.Errorf("seed %d: warnings %q do not report the unseen value", seed, res.Manifest.Warnings)
		}
		return
	}
	t.Fatal("no seed from 1 to 20 held the customer out")
}

// TestRunMediansFromTrain checks that the stored medians are those of the
// training split, not of all rows.
func TestRunMediansFromTrain(t *testing.T) {
	res, err := Run(context.Background(), Input{Data: readFile(t, samplePath)}, DefaultConfig(), discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range dataset.NumericColumns {
		train, err := res.Train.Col(col)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := res.Encoder.Medians[col], median(train); got != want {
			t.Errorf("median of %s = %v, want the training median %v", col, got, want)
		}
	}
}
