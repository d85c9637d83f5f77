package optimize

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

var discard = slog.New(slog.DiscardHandler)

// syntheticScores draws a scores table of n customers.
// About a fifth churned, uplift ranges from -0.1 to 0.3 and CLV from $100
// to $2,000, so every status occurs.
func syntheticScores(seed uint64, n int) *dataset.Scores {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	s := &dataset.Scores{Uplift: map[string][]float64{}}
	for i := range n {
		s.IDs = append(s.IDs, fmt.Sprintf("%04d-SYNTH", i))
		churned := 0.0
		if rng.Float64() < 0.2 {
			churned = 1
		}
		s.Churned = append(s.Churned, churned)
		s.Tenure = append(s.Tenure, float64(rng.IntN(73)))
		s.P0 = append(s.P0, 0.02+0.6*rng.Float64())
		s.CLV = append(s.CLV, 100+1900*rng.Float64())
		for _, m := range dataset.Models {
			s.Uplift[m] = append(s.Uplift[m], -0.1+0.4*rng.Float64())
		}
	}
	return s
}

func TestOptimizeSmallHandChecked(t *testing.T) {
	// Eligible: a (new, v $100, cost $15) and f (long, v $100, cost $8).
	req := Request{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: 100}
	r, err := Optimize(context.Background(), testScores(), req, DefaultConfig(), discard)
	if err != nil {
		t.Fatal(err)
	}
	m := r.Metrics
	if m.CustomersSelected != 2 || m.TotalCost != 23 || m.IncrementalCLVImpact != 200 || m.NetValue != 177 {
		t.Errorf("metrics %+v, want 2 customers, $23 cost, $200 value, $177 net", m)
	}
	if r.Solver != SolverDP || !r.Optimal || r.Gap != 0 || r.Bound != 177 {
		t.Errorf("solver %s optimal %v gap %v bound %v, want exact_dp true 0 177", r.Solver, r.Optimal, r.Gap, r.Bound)
	}
	if r.Request.Solver != RequestSolverExact {
		t.Errorf("request solver %q, want the default %q", r.Request.Solver, RequestSolverExact)
	}
	if m.ExcludedSleepingDogs != 2 || m.ExcludedLowUplift != 4 || m.ExcludedChurned != 1 || m.NotEligible != 1 {
		t.Errorf("exclusions %+v, want 2 sleeping dogs, 4 low uplift, 1 churned, 1 not eligible", m)
	}
	ids := []string{}
	for _, c := range r.Selected() {
		ids = append(ids, c.ID)
	}
	if fmt.Sprint(ids) != "[a f]" {
		t.Errorf("selected %v, want [a f]", ids)
	}
	seg := r.Segments
	if len(seg) != 3 || seg[0].Selected != 1 || seg[1].Selected != 0 || seg[2].Selected != 1 || seg[1].Minimum != 0 || seg[2].Eligible != 1 {
		t.Errorf("segments %+v, want new 1 selected, mid 0 with minimum 0, long 1 of 1 eligible", seg)
	}
	if r.Comparison.GreedyShare != 1 || r.Comparison.NetValueGain != 0 {
		t.Errorf("comparison %+v, want greedy equal to exact", r.Comparison)
	}
}

func TestOptimizeRequestErrors(t *testing.T) {
	ctx := context.Background()
	base := Request{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: 100}
	tests := []struct {
		name   string
		change func(*Request)
		want   error
		text   string
	}{
		{"ZeroBudget", func(r *Request) { r.Budget = 0 }, ErrInvalidBudget, "0 dollars"},
		{"NegativeBudget", func(r *Request) { r.Budget = -20 }, ErrInvalidBudget, "-20 dollars"},
		{"UnknownSolver", func(r *Request) { r.Solver = "cbc" }, ErrUnknownSolver, `"cbc"`},
		{"UnknownSplit", func(r *Request) { r.Split = "holdout" }, ErrUnknownSplit, `"holdout"`},
		{"UnknownModel", func(r *Request) { r.Model = "t_learner" }, ErrUnknownModel, "s_learner, dr_learner, ensemble"},
		{"NoEligible", func(r *Request) { r.Model = dataset.ModelDRLearner }, ErrNoEligible, "all 8 customers"},
		{"Infeasible", func(r *Request) { r.Budget = 20 }, ErrInfeasible, "new needs 1 for $15.00, long needs 1 for $8.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := base
			tt.change(&req)
			r, err := Optimize(ctx, testScores(), req, DefaultConfig(), discard)
			if r != nil {
				t.Errorf("returned a report with error %v", err)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("message %q does not contain %q", err, tt.text)
			}
		})
	}
}

func TestOptimizeCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := Request{Split: dataset.Train, Model: dataset.ModelEnsemble, Budget: 500}
	_, err := Optimize(ctx, syntheticScores(1, 200), req, DefaultConfig(), discard)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func TestOptimizeGreedyRequest(t *testing.T) {
	s := syntheticScores(2, 600)
	cfg := DefaultConfig()
	cfg.MinPerSegment = 3
	req := Request{Split: dataset.Val, Model: dataset.ModelSLearner, Budget: 400, Solver: RequestSolverGreedy}
	r, err := Optimize(context.Background(), s, req, cfg, discard)
	if err != nil {
		t.Fatal(err)
	}
	c := r.Comparison
	if r.Solver != SolverGreedy || r.Metrics.NetValue != c.Greedy.NetValue {
		t.Errorf("solver %s net %v, want greedy with net %v", r.Solver, r.Metrics.NetValue, c.Greedy.NetValue)
	}
	if c.Greedy.NetValue > c.Exact.NetValue || !c.Exact.Optimal {
		t.Errorf("greedy %v, exact %v (optimal %v): want greedy <= proven exact", c.Greedy.NetValue, c.Exact.NetValue, c.Exact.Optimal)
	}
	if r.Metrics.TotalCost > 400 {
		t.Errorf("total cost %v exceeds the $400 budget", r.Metrics.TotalCost)
	}
	for _, seg := range r.Segments {
		if seg.Selected < 3 {
			t.Errorf("segment %s has %d selected, minimum 3", seg.Segment, seg.Selected)
		}
	}
}

func TestWriteFiles(t *testing.T) {
	s := syntheticScores(3, 500)
	req := Request{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: 300}
	r, err := Optimize(context.Background(), s, req, DefaultConfig(), discard)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := r.WriteFiles(dir, "phase4_test_ensemble")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range files.Paths() {
		if filepath.Dir(p) != dir {
			t.Errorf("file %s is outside %s", p, dir)
		}
		if info, err := os.Stat(p); err != nil || info.Size() == 0 {
			t.Errorf("file %s: %v (size %v)", p, err, info)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Errorf("dir holds %d entries, want 4 (no temporary files left)", len(entries))
	}

	t.Run("CRMExport", func(t *testing.T) { checkCRM(t, files.CRMExport, r, s) })
	t.Run("ReportJSON", func(t *testing.T) { checkReportJSON(t, files.Report, r) })
	t.Run("SegmentDeepDive", func(t *testing.T) { checkDeepDive(t, files.SegmentDeepDive, r) })
	t.Run("Summary", func(t *testing.T) {
		b, err := os.ReadFile(files.Summary)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		for _, want := range []string{
			"# Retention campaign plan: test split, ensemble model",
			fmt.Sprintf("| Customers selected | %d |", r.Metrics.CustomersSelected),
			"| Net value | " + formatDollars(r.Metrics.NetValue) + " |",
			"| exact_dp |",
			"phase4_test_ensemble_crm_export.csv",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("summary does not contain %q", want)
			}
		}
	})
}

func checkCRM(t *testing.T, path string, r *Report, s *dataset.Scores) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], crmHeader) {
		t.Fatalf("header %v, want %v", rows[0], crmHeader)
	}
	rows = rows[1:]
	if len(rows) != s.Len() {
		t.Fatalf("%d rows, want one per customer (%d)", len(rows), s.Len())
	}

	byID := make(map[string]Customer)
	for _, c := range r.customers {
		byID[c.ID] = c
	}
	seen := make(map[string]bool)
	ranks := make(map[int]bool)
	treated := 0
	var prev Customer
	prevTreat := true
	for k, row := range rows {
		id, recommendation := row[0], row[6]
		if seen[id] {
			t.Fatalf("row %d: customer %s repeated", k+1, id)
		}
		seen[id] = true
		c, ok := byID[id]
		if !ok {
			t.Fatalf("row %d: unknown customer %s", k+1, id)
		}
		rank, err := strconv.Atoi(row[7])
		if err != nil || rank < 1 {
			t.Fatalf("row %d: priority %q is not a positive integer", k+1, row[7])
		}
		ranks[rank] = true
		treat := recommendation == RecommendTreat
		if !treat && recommendation != RecommendNoTreat {
			t.Fatalf("row %d: recommendation %q", k+1, recommendation)
		}
		if treat {
			treated++
			if !prevTreat {
				t.Errorf("row %d: treated customer %s after an untreated one", k+1, id)
			}
		}
		// Within a group, priorities follow v/cost descending.
		if k > 0 && treat == prevTreat {
			if cmp := compareRatios(prev.ValueCents, prev.CostCents, c.ValueCents, c.CostCents); cmp < 0 {
				t.Errorf("row %d: customer %s has a higher v/cost than the row above", k+1, id)
			}
		}
		if want := strconv.FormatFloat(dollars(c.ValueCents), 'f', 2, 64); row[3] != want {
			t.Errorf("row %d: incremental value %s, want %s", k+1, row[3], want)
		}
		if row[5] != c.Segment.String() {
			t.Errorf("row %d: segment %s, want %s", k+1, row[5], c.Segment)
		}
		prev, prevTreat = c, treat
	}
	if treated != r.Metrics.CustomersSelected {
		t.Errorf("%d treat rows, want %d selected", treated, r.Metrics.CustomersSelected)
	}
	for rank := 1; rank <= len(ranks); rank++ {
		if !ranks[rank] {
			t.Errorf("priority %d is missing among %d distinct priorities", rank, len(ranks))
			break
		}
	}
	if len(ranks) < s.Len()/2 {
		t.Errorf("only %d distinct priorities for %d customers", len(ranks), s.Len())
	}
}

func checkReportJSON(t *testing.T, path string, r *Report) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Request     Request            `json:"request"`
		Solver      string             `json:"solver"`
		Optimal     bool               `json:"optimal"`
		Gap         *float64           `json:"gap"`
		Metrics     map[string]any     `json:"metrics"`
		Segments    []map[string]any   `json:"segments"`
		Comparison  map[string]any     `json:"comparison"`
		Exclusions  map[string]float64 `json:"exclusions"`
		GeneratedAt string             `json:"generated_at"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Request != r.Request || got.Solver != r.Solver || got.Optimal != r.Optimal || got.Gap == nil {
		t.Errorf("request %+v solver %s optimal %v gap %v, want %+v %s %v and a gap", got.Request, got.Solver, got.Optimal, got.Gap, r.Request, r.Solver, r.Optimal)
	}
	for _, key := range []string{"customers_selected", "total_cost", "incremental_clv_impact", "net_value", "net_profit", "roi",
		"cost_per_customer", "value_per_dollar", "budget_utilisation_pct", "segment_counts", "excluded_sleeping_dogs",
		"excluded_churned", "excluded_low_uplift", "not_eligible"} {
		if _, ok := got.Metrics[key]; !ok {
			t.Errorf("metrics has no %q", key)
		}
	}
	if got.Metrics["net_profit"] != got.Metrics["net_value"] || got.Metrics["net_value"] != r.Metrics.NetValue {
		t.Errorf("net_profit %v net_value %v, want both %v", got.Metrics["net_profit"], got.Metrics["net_value"], r.Metrics.NetValue)
	}
	if len(got.Segments) != 3 || got.Segments[0]["segment"] != "new" {
		t.Errorf("segments %v, want three starting with new", got.Segments)
	}
	if _, ok := got.Comparison["greedy"]; !ok {
		t.Errorf("comparison %v has no greedy entry", got.Comparison)
	}
	if got.Exclusions["total"] != float64(len(r.customers)) {
		t.Errorf("exclusions total %v, want %d", got.Exclusions["total"], len(r.customers))
	}
	if got.GeneratedAt == "" {
		t.Errorf("generated_at is empty")
	}
}

func TestWriteFilesRejectsBadStem(t *testing.T) {
	r, err := Optimize(context.Background(), testScores(), Request{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: 100}, DefaultConfig(), discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, stem := range []string{"", "..", "a/b", `a\b`} {
		if _, err := r.WriteFiles(t.TempDir(), stem); err == nil {
			t.Errorf("stem %q accepted", stem)
		}
	}
	var decoded Report
	if _, err := decoded.WriteFiles(t.TempDir(), "x"); err == nil {
		t.Errorf("report without customers accepted")
	}
}

func TestPrioritiesDenseWithTies(t *testing.T) {
	r := &Report{customers: []Customer{
		{ID: "a", ValueCents: 3000, CostCents: 1500},
		{ID: "b", ValueCents: 2000, CostCents: 1000},
		{ID: "c", ValueCents: 5000, CostCents: 1000},
		{ID: "d", ValueCents: -100, CostCents: 800},
		{ID: "e", ValueCents: 1600, CostCents: 800},
	}}
	want := []int{2, 2, 1, 3, 2}
	if got := r.priorities(); !slices.Equal(got, want) {
		t.Errorf("priorities %v, want %v", got, want)
	}
}
