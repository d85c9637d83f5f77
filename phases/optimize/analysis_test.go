package optimize

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// moneyTol is the tolerance for dollar amounts that went through
// rounding to cents.
const moneyTol = 0.005

func optimizeSynthetic(t *testing.T, seed uint64, n int, budget float64) (*dataset.Scores, *Report) {
	t.Helper()
	s := syntheticScores(seed, n)
	req := Request{Split: dataset.Train, Model: dataset.ModelEnsemble, Budget: budget}
	r, err := Optimize(context.Background(), s, req, DefaultConfig(), discard)
	if err != nil {
		t.Fatal(err)
	}
	return s, r
}

func TestDefaultSweepBudgets(t *testing.T) {
	b := DefaultSweepBudgets()
	if len(b) != 24 {
		t.Fatalf("%d budgets, want 24", len(b))
	}
	if b[0] != 20_000 || b[23] != 500_000 {
		t.Errorf("budgets run from %d to %d cents, want 20000 to 500000", b[0], b[23])
	}
	for k := 1; k < len(b); k++ {
		if b[k] <= b[k-1] || b[k]%100 != 0 {
			t.Errorf("budget %d is %d cents after %d: want increasing whole dollars", k, b[k], b[k-1])
		}
	}
	cfg := DefaultConfig()
	cfg.SweepBudgetsCents = []int64{500, 100}
	if got := cfg.SweepBudgets(); !slices.Equal(got, []int64{500, 100}) {
		t.Errorf("configured sweep %v, want [500 100]", got)
	}
	cfg.SweepBudgetsCents = []int64{0}
	if err := cfg.Validate(); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("sweep budget 0 validates with %v, want ErrInvalidConfig", err)
	}
}

// TestSweepMatchesExactSolves checks every point of a sweep against a
// single exact solve, and the greedy value against the exact one.
func TestSweepMatchesExactSolves(t *testing.T) {
	_, r := optimizeSynthetic(t, 21, 400, 2500)
	cfg := DefaultConfig()
	// 3,299 cents cannot pay for the three segment minimums ($33).
	cfg.SweepBudgetsCents = []int64{3_299, 3_300, 20_000, 120_000, 250_000, 5_000_000}
	sw, err := r.Sweep(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(sw.Points) != len(cfg.SweepBudgetsCents) {
		t.Fatalf("%d points for %d budgets", len(sw.Points), len(cfg.SweepBudgetsCents))
	}

	eligible := eligibleOnly(r.customers)
	for k, b := range cfg.SweepBudgetsCents {
		p := sw.Points[k]
		if p.Budget != dollars(b) {
			t.Errorf("point %d budget %v, want %v", k, p.Budget, dollars(b))
		}
		single, err := SolveExact(eligible, b, cfg)
		if err != nil {
			if !errors.Is(err, ErrInfeasible) {
				t.Fatalf("budget %d: %v", b, err)
			}
			if p.Feasible || !strings.Contains(p.Note, "segment minimums") || p.Metrics.CustomersSelected != 0 {
				t.Errorf("budget %d: feasible %v note %q selected %d, want an infeasible point naming the minimums",
					b, p.Feasible, p.Note, p.Metrics.CustomersSelected)
			}
			continue
		}
		if !p.Feasible || !p.Optimal || p.Solver != SolverDP {
			t.Errorf("budget %d: feasible %v optimal %v solver %s", b, p.Feasible, p.Optimal, p.Solver)
		}
		if p.Metrics.NetValue != dollars(single.NetCents) {
			t.Errorf("budget %d: sweep net %v, single solve %v", b, p.Metrics.NetValue, dollars(single.NetCents))
		}
		if p.Metrics.TotalCost > p.Budget {
			t.Errorf("budget %d: cost %v over budget", b, p.Metrics.TotalCost)
		}
		if p.GreedyNetValue > p.Metrics.NetValue {
			t.Errorf("budget %d: greedy %v beats exact %v", b, p.GreedyNetValue, p.Metrics.NetValue)
		}
		if p.GreedyNetValue <= 0 {
			t.Errorf("budget %d: greedy net %v, want a positive value", b, p.GreedyNetValue)
		}
	}

	if sw.Points[0].Feasible {
		t.Errorf("budget $32.99 is feasible, want infeasible below the $33 of minimums")
	}
	// Net value never falls as the budget grows.
	for k := 2; k < len(sw.Points); k++ {
		if sw.Points[k].Metrics.NetValue < sw.Points[k-1].Metrics.NetValue {
			t.Errorf("net value falls from %v to %v between budgets %v and %v",
				sw.Points[k-1].Metrics.NetValue, sw.Points[k].Metrics.NetValue, sw.Points[k-1].Budget, sw.Points[k].Budget)
		}
	}
	if sw.ExactSeconds <= 0 || sw.GreedySeconds <= 0 {
		t.Errorf("solve times %v and %v, want positive", sw.ExactSeconds, sw.GreedySeconds)
	}
}

func TestCompareBudgets(t *testing.T) {
	_, r := optimizeSynthetic(t, 22, 300, 1000)
	cfg := DefaultConfig()
	budgets := []int64{100, r.BudgetCents, 30_000, 200_000}
	rows, err := r.CompareBudgets(context.Background(), budgets, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(budgets) {
		t.Fatalf("%d rows for %d budgets", len(rows), len(budgets))
	}
	if rows[0].Feasible || rows[0].Note == "" {
		t.Errorf("$1 budget: feasible %v note %q, want infeasible with a reason", rows[0].Feasible, rows[0].Note)
	}
	if rows[1].Comparison != r.Comparison {
		t.Errorf("request budget row %+v differs from the report's comparison %+v", rows[1].Comparison, r.Comparison)
	}
	eligible := eligibleOnly(r.customers)
	for k, row := range rows[1:] {
		b := budgets[k+1]
		exact, err := SolveExact(eligible, b, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if row.Exact.NetValue != dollars(exact.NetCents) || !row.Exact.Optimal {
			t.Errorf("budget %d: exact %v (optimal %v), single solve %v", b, row.Exact.NetValue, row.Exact.Optimal, dollars(exact.NetCents))
		}
		if row.Greedy.NetValue > row.Exact.NetValue {
			t.Errorf("budget %d: greedy %v beats exact %v", b, row.Greedy.NetValue, row.Exact.NetValue)
		}
		if gain := row.Exact.NetValue - row.Greedy.NetValue; math.Abs(row.NetValueGain-gain) > moneyTol {
			t.Errorf("budget %d: gain %v, want %v", b, row.NetValueGain, gain)
		}
		if row.GreedyShare <= 0 || row.GreedyShare > 1 {
			t.Errorf("budget %d: greedy share %v outside (0, 1]", b, row.GreedyShare)
		}
		if row.Greedy.SolveSeconds <= 0 || row.Exact.SolveSeconds <= 0 {
			t.Errorf("budget %d: solve times %v and %v, want positive", b, row.Greedy.SolveSeconds, row.Exact.SolveSeconds)
		}
	}
}

func TestRunScenarios(t *testing.T) {
	s, r := optimizeSynthetic(t, 23, 500, 1500)
	results, err := RunScenarios(context.Background(), s, r.Request, DefaultConfig(), discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(Scenarios) {
		t.Fatalf("%d results, want %d", len(results), len(Scenarios))
	}
	byName := map[string]ScenarioResult{}
	for k, res := range results {
		if res.Name != Scenarios[k].Name {
			t.Errorf("result %d is %s, want %s", k, res.Name, Scenarios[k].Name)
		}
		if !res.Feasible || res.Solver != SolverDP || !res.Optimal {
			t.Errorf("%s: feasible %v solver %s optimal %v, want a proven optimum", res.Name, res.Feasible, res.Solver, res.Optimal)
		}
		if res.Metrics.TotalCost > r.Request.Budget {
			t.Errorf("%s: cost %v over the budget", res.Name, res.Metrics.TotalCost)
		}
		if res.GreedyNetValue > res.Metrics.NetValue {
			t.Errorf("%s: greedy %v beats exact %v", res.Name, res.GreedyNetValue, res.Metrics.NetValue)
		}
		byName[res.Name] = res
	}

	base := byName[ScenarioBase]
	if base.Metrics.NetValue != r.Metrics.NetValue || base.Customers != 500 || base.NetValueChange != 0 {
		t.Errorf("base net %v customers %d change %v, want the report's %v, 500 and 0",
			base.Metrics.NetValue, base.Customers, base.NetValueChange, r.Metrics.NetValue)
	}
	// Scaling every value up, or every cost down, cannot lower the
	// optimum, and the reverse cannot raise it.
	if v := byName[ScenarioUpliftHigh].Metrics.NetValue; v < base.Metrics.NetValue {
		t.Errorf("uplift x1.2 net %v is below the base %v", v, base.Metrics.NetValue)
	}
	if v := byName[ScenarioUpliftLow].Metrics.NetValue; v > base.Metrics.NetValue {
		t.Errorf("uplift x0.8 net %v is above the base %v", v, base.Metrics.NetValue)
	}
	costs := byName[ScenarioCostsHigh]
	if costs.Metrics.NetValue > base.Metrics.NetValue {
		t.Errorf("costs x1.5 net %v is above the base %v", costs.Metrics.NetValue, base.Metrics.NetValue)
	}
	if costs.Metrics.CustomersSelected > 0 {
		// Every selected customer costs $12, $15 or $22.50 now.
		perCustomer := costs.Metrics.TotalCost / float64(costs.Metrics.CustomersSelected)
		if perCustomer < 12-moneyTol || perCustomer > 22.5+moneyTol {
			t.Errorf("costs x1.5: %v per customer, want between $12 and $22.50", perCustomer)
		}
	}
	top := byName[ScenarioTopCLVShare]
	if top.Customers != 100 {
		t.Errorf("top 20%% CLV keeps %d of 500 customers, want 100", top.Customers)
	}
	for name, res := range byName {
		want := dollars(centsOf(res.Metrics.NetValue) - centsOf(base.Metrics.NetValue))
		if res.NetValueChange != want {
			t.Errorf("%s: change %v, want %v", name, res.NetValueChange, want)
		}
	}
}

// TestScenarioUpliftClippedToP0 checks on a hand-made table that scaling
// happens before the clip: u = min(1.2 × model uplift, p0).
func TestScenarioUpliftClippedToP0(t *testing.T) {
	s := &dataset.Scores{
		IDs:     []string{"a", "b"},
		Churned: []float64{0, 0},
		Tenure:  []float64{5, 40},
		P0:      []float64{0.5, 0.11},
		CLV:     []float64{1000, 1000},
		Uplift:  map[string][]float64{dataset.ModelEnsemble: {0.1, 0.1}},
	}
	sc := Scenarios[slices.IndexFunc(Scenarios, func(s Scenario) bool { return s.Name == ScenarioUpliftHigh })]
	scaled, err := scenarioScores(s, dataset.ModelEnsemble, sc)
	if err != nil {
		t.Fatal(err)
	}
	priced, _, err := priceCustomers(scaled, dataset.ModelEnsemble, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	// a: 0.12 × $1,000 = $120; b: clipped to 0.11, so $110.
	if priced[0].ValueCents != 12_000 || priced[1].ValueCents != 11_000 {
		t.Errorf("values %d and %d cents, want 12000 and 11000", priced[0].ValueCents, priced[1].ValueCents)
	}
	if s.Uplift[dataset.ModelEnsemble][0] != 0.1 {
		t.Errorf("scenario changed the caller's scores: uplift %v", s.Uplift[dataset.ModelEnsemble][0])
	}
}

func TestTopCLVRowsKeepsTies(t *testing.T) {
	clv := []float64{5, 9, 7, 9, 1, 3, 7, 2, 8, 6}
	// The top 20% is 2 customers: both 9s.
	if got := topCLVRows(clv, 0.2); !slices.Equal(got, []int{1, 3}) {
		t.Errorf("top 20%% rows %v, want [1 3]", got)
	}
	// The top 30% ends at a tie of 8 with nothing else, then 7s: 3 rows.
	if got := topCLVRows(clv, 0.3); !slices.Equal(got, []int{1, 3, 8}) {
		t.Errorf("top 30%% rows %v, want [1 3 8]", got)
	}
	// The top 40% ends inside the tie at 7, so both 7s stay.
	if got := topCLVRows(clv, 0.4); !slices.Equal(got, []int{1, 2, 3, 6, 8}) {
		t.Errorf("top 40%% rows %v, want [1 2 3 6 8]", got)
	}
}

// readCSV parses a CSV file into its header and rows.
func readCSV(t *testing.T, path string) ([]string, [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 {
		t.Fatalf("%s is empty", path)
	}
	return recs[0], recs[1:]
}

// column returns the value of a named column in a row.
func column(t *testing.T, header, row []string, name string) string {
	t.Helper()
	k := slices.Index(header, name)
	if k < 0 {
		t.Fatalf("no column %q in %v", name, header)
	}
	return row[k]
}

func writeTestFile(t *testing.T, name string, write func(io.Writer) error) string {
	t.Helper()
	set := NewFileSet(t.TempDir())
	path, err := set.Add(name, write)
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Commit(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAnalysisCSVs(t *testing.T) {
	s, r := optimizeSynthetic(t, 24, 300, 800)
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.SweepBudgetsCents = []int64{1_000, 50_000, 100_000}
	sw, err := r.Sweep(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	scenarios, err := RunScenarios(ctx, s, r.Request, cfg, discard)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := r.CompareBudgets(ctx, append([]int64{r.BudgetCents}, cfg.SweepBudgetsCents...), cfg)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Sweep", func(t *testing.T) {
		header, recs := readCSV(t, writeTestFile(t, "x"+SuffixSweep, sw.WriteCSV))
		if len(recs) != 3 {
			t.Fatalf("%d rows, want 3", len(recs))
		}
		for k, rec := range recs {
			p := sw.Points[k]
			if got := column(t, header, rec, "net_value"); got != strconv.FormatFloat(p.Metrics.NetValue, 'f', 2, 64) {
				t.Errorf("row %d net_value %s, want %.2f", k, got, p.Metrics.NetValue)
			}
			if got := column(t, header, rec, "budget"); got != strconv.FormatFloat(p.Budget, 'f', 2, 64) {
				t.Errorf("row %d budget %s, want %.2f", k, got, p.Budget)
			}
			n := 0
			for _, seg := range []string{"selected_new", "selected_mid", "selected_long"} {
				c, err := strconv.Atoi(column(t, header, rec, seg))
				if err != nil {
					t.Fatal(err)
				}
				n += c
			}
			if n != p.Metrics.CustomersSelected {
				t.Errorf("row %d segment counts add to %d, want %d", k, n, p.Metrics.CustomersSelected)
			}
		}
	})
	t.Run("Scenarios", func(t *testing.T) {
		header, recs := readCSV(t, writeTestFile(t, "x"+SuffixScenarios, func(w io.Writer) error { return WriteScenariosCSV(w, scenarios) }))
		if len(recs) != len(Scenarios) {
			t.Fatalf("%d rows, want %d", len(recs), len(Scenarios))
		}
		for k, rec := range recs {
			if got := column(t, header, rec, "scenario"); got != Scenarios[k].Name {
				t.Errorf("row %d scenario %s, want %s", k, got, Scenarios[k].Name)
			}
			if got := column(t, header, rec, "roi"); got != strconv.FormatFloat(scenarios[k].Metrics.ROI, 'f', 6, 64) {
				t.Errorf("row %d roi %s, want %.6f", k, got, scenarios[k].Metrics.ROI)
			}
		}
	})
	t.Run("Comparison", func(t *testing.T) {
		header, recs := readCSV(t, writeTestFile(t, "x"+SuffixComparison, func(w io.Writer) error { return WriteComparisonCSV(w, rows) }))
		if len(recs) != 4 {
			t.Fatalf("%d rows, want 4", len(recs))
		}
		for k, rec := range recs {
			greedy, err1 := strconv.ParseFloat(column(t, header, rec, "greedy_net_value"), 64)
			exact, err2 := strconv.ParseFloat(column(t, header, rec, "exact_net_value"), 64)
			secs, err3 := strconv.ParseFloat(column(t, header, rec, "exact_seconds"), 64)
			if err1 != nil || err2 != nil || err3 != nil {
				t.Fatalf("row %d: %v %v %v", k, err1, err2, err3)
			}
			if greedy > exact {
				t.Errorf("row %d: greedy %v beats exact %v", k, greedy, exact)
			}
			if rows[k].Feasible && secs <= 0 {
				t.Errorf("row %d: exact solve time %v, want positive", k, secs)
			}
		}
	})
}

func checkDeepDive(t *testing.T, path string, r *Report) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "NaN") || strings.Contains(string(raw), "Inf") {
		t.Errorf("deep-dive contains a non-finite number")
	}
	var d DeepDive
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Segments) != 3 {
		t.Fatalf("%d segments, want 3", len(d.Segments))
	}
	var customers, selected int
	var cost, share float64
	for k, seg := range d.Segments {
		want := r.Segments[k]
		if seg.Customers != want.Customers || seg.Eligible != want.Eligible || seg.Selected != want.Selected || seg.Minimum != want.Minimum {
			t.Errorf("segment %d: customers %d eligible %d selected %d minimum %d, report says %+v",
				k, seg.Customers, seg.Eligible, seg.Selected, seg.Minimum, want)
		}
		if n := seg.Eligible + seg.ExcludedLowUplift + seg.ExcludedChurned + seg.NotEligible; n != seg.Customers {
			t.Errorf("segment %d: statuses add to %d, want %d", k, n, seg.Customers)
		}
		if math.Abs(seg.TotalCost-want.TotalCost) > moneyTol || math.Abs(seg.NetValue-want.NetValue) > moneyTol {
			t.Errorf("segment %d: cost %v net %v, report says %v %v", k, seg.TotalCost, seg.NetValue, want.TotalCost, want.NetValue)
		}
		if len(seg.TopSelected) != min(seg.Selected, DeepDiveTopCustomers) {
			t.Errorf("segment %d lists %d top customers of %d selected", k, len(seg.TopSelected), seg.Selected)
		}
		for j := 1; j < len(seg.TopSelected); j++ {
			if seg.TopSelected[j].Ratio > seg.TopSelected[j-1].Ratio {
				t.Errorf("segment %d: top customers not in v/cost order at %d", k, j)
			}
		}
		if len(seg.TopSelected) > 0 && seg.TopSelected[len(seg.TopSelected)-1].Ratio < seg.LowestSelectedRatio {
			t.Errorf("segment %d: a listed ratio is below the lowest selected %v", k, seg.LowestSelectedRatio)
		}
		customers += seg.Customers
		selected += seg.Selected
		cost += seg.TotalCost
		share += seg.SpendShare
	}
	if customers != r.Exclusions.Total || selected != r.Metrics.CustomersSelected {
		t.Errorf("segments hold %d customers and %d selected, want %d and %d", customers, selected, r.Exclusions.Total, r.Metrics.CustomersSelected)
	}
	if math.Abs(cost-r.Metrics.TotalCost) > moneyTol || math.Abs(share-1) > 1e-9 {
		t.Errorf("segment spend adds to %v (share %v), want %v (1)", cost, share, r.Metrics.TotalCost)
	}
}

func TestFileSetAbortAndFailure(t *testing.T) {
	dir := t.TempDir()
	set := NewFileSet(dir)
	if _, err := set.Add("a.txt", func(w io.Writer) error { _, err := io.WriteString(w, "a"); return err }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if _, err := set.Add("b.txt", func(w io.Writer) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("failed write returned %v, want boom", err)
	}
	if _, err := set.Add("../c.txt", func(io.Writer) error { return nil }); err == nil {
		t.Errorf("a name with a path separator was accepted")
	}
	if set.Len() != 1 {
		t.Errorf("%d staged files, want 1", set.Len())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), ".a.txt.") {
		t.Errorf("before commit the folder holds %v, want only the staged temporary file", entries)
	}
	set.Abort()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("after abort the folder holds %d entries, want none", len(entries))
	}
}

func TestWriteFilesContextCanceled(t *testing.T) {
	_, r := optimizeSynthetic(t, 25, 200, 500)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.WriteFilesContext(ctx, dir, "canceled"); !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a canceled write left %d entries in the folder", len(entries))
	}
	files, err := r.WriteFilesContext(context.Background(), dir, "done")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range files.Paths() {
		if filepath.Dir(p) != dir || !strings.HasPrefix(filepath.Base(p), "done_") {
			t.Errorf("path %s, want a done_ file in %s", p, dir)
		}
	}
}
