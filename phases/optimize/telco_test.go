package optimize

import (
	"context"
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// telcoScores builds a scores table from the real Telco file: real IDs,
// tenure and churn flags, with stand-in model outputs because the real ones
// come from Phases 2 and 3:
//
//	p0     = 0.05 + 0.5 × (contract is month-to-month)
//	CLV    = 6 × MonthlyCharges dollars
//	uplift = a fixed hash of the row in [-0.05, 0.25]
func telcoScores(t *testing.T) *dataset.Scores {
	t.Helper()
	path := os.Getenv("ECOMOPTI_TELCO_CSV")
	if path == "" {
		t.Skip("ECOMOPTI_TELCO_CSV is not set; it names the Telco churn CSV")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := make(map[string]int)
	for j, name := range rows[0] {
		col[name] = j
	}
	s := &dataset.Scores{Uplift: map[string][]float64{}}
	for i, row := range rows[1:] {
		tenure, err1 := strconv.ParseFloat(row[col["tenure"]], 64)
		charges, err2 := strconv.ParseFloat(row[col["MonthlyCharges"]], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("row %d: tenure %q, charges %q", i+2, row[col["tenure"]], row[col["MonthlyCharges"]])
		}
		churned := 0.0
		if row[col["Churn"]] == "Yes" {
			churned = 1
		}
		p0 := 0.05
		if row[col["Contract"]] == "Month-to-month" {
			p0 += 0.5
		}
		u := -0.05 + 0.3*float64((i*7919)%1000)/1000
		s.IDs = append(s.IDs, row[col["customerID"]])
		s.Churned = append(s.Churned, churned)
		s.Tenure = append(s.Tenure, tenure)
		s.P0 = append(s.P0, p0)
		s.CLV = append(s.CLV, 6*charges)
		s.Uplift[dataset.ModelEnsemble] = append(s.Uplift[dataset.ModelEnsemble], u)
	}
	return s
}

// TestOptimizeTelcoScale runs Optimize on all 7,043 real customers and
// checks the invariants that hold for any scores.
func TestOptimizeTelcoScale(t *testing.T) {
	s := telcoScores(t)
	if s.Len() != 7043 {
		t.Fatalf("%d rows, want 7043", s.Len())
	}
	churned := 0
	for _, e := range s.Churned {
		churned += int(e)
	}
	if churned != 1869 {
		t.Fatalf("%d churned customers, want 1869 as in the public file", churned)
	}
	for _, budget := range []float64{200, 2500, 7500} {
		req := Request{Split: dataset.Train, Model: dataset.ModelEnsemble, Budget: budget}
		r, err := Optimize(context.Background(), s, req, DefaultConfig(), discard)
		if err != nil {
			t.Fatalf("budget %v: %v", budget, err)
		}
		m := r.Metrics
		if m.TotalCost > budget {
			t.Errorf("budget %v: total cost %v exceeds it", budget, m.TotalCost)
		}
		if !r.Optimal || r.Solver != SolverDP {
			t.Errorf("budget %v: solver %s optimal %v, want a proven dp optimum", budget, r.Solver, r.Optimal)
		}
		if c := r.Comparison; c.Greedy.NetValue > c.Exact.NetValue {
			t.Errorf("budget %v: greedy %v beats exact %v", budget, c.Greedy.NetValue, c.Exact.NetValue)
		}
		for _, seg := range r.Segments {
			if seg.Selected < seg.Minimum {
				t.Errorf("budget %v: segment %s selected %d, minimum %d", budget, seg.Segment, seg.Selected, seg.Minimum)
			}
		}
		ex := r.Exclusions
		if ex.Total != 7043 || ex.Eligible+ex.LowUplift+ex.Churned+ex.NotEligible != ex.Total {
			t.Errorf("budget %v: exclusions %+v do not add up to 7043", budget, ex)
		}
		if math.IsNaN(m.ROI) || m.ROI <= 0 {
			t.Errorf("budget %v: roi %v", budget, m.ROI)
		}
		t.Logf("budget %v: selected %d, net %v, greedy %v, exact %.3fs, greedy %.3fs",
			budget, m.CustomersSelected, m.NetValue, r.Comparison.Greedy.NetValue,
			r.Comparison.Exact.SolveSeconds, r.Comparison.Greedy.SolveSeconds)
	}
}
