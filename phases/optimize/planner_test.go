package optimize

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// plannerBudgets returns budgets in dollars from below the cheapest
// treatment to above the total eligible cost, with odd cents.
func plannerBudgets(rng *rand.Rand, p *Planner) []float64 {
	var total int64
	for _, c := range p.eligible {
		total += c.CostCents
	}
	out := []float64{0.01, 7.99, 8, 15, 23, dollars(total), dollars(total) + 0.01, dollars(total) + 500}
	for range 12 {
		out = append(out, dollars(1+rng.Int64N(total+1)))
	}
	return out
}

// sameReports compares the fields of two reports that do not depend on
// the clock, and their selections.
func sameReports(t *testing.T, name string, got, want *Report) {
	t.Helper()
	if got.Solver != want.Solver || got.Optimal != want.Optimal || got.Gap != want.Gap || got.Bound != want.Bound || got.BudgetCents != want.BudgetCents {
		t.Errorf("%s: solver %s optimal %v gap %v bound %v budget %d, want %s %v %v %v %d", name,
			got.Solver, got.Optimal, got.Gap, got.Bound, got.BudgetCents, want.Solver, want.Optimal, want.Gap, want.Bound, want.BudgetCents)
	}
	if !slices.Equal(got.selected, want.selected) {
		t.Errorf("%s: selections differ", name)
	}
	if fmt.Sprint(got.Metrics) != fmt.Sprint(want.Metrics) {
		t.Errorf("%s: metrics %+v, want %+v", name, got.Metrics, want.Metrics)
	}
	if !slices.Equal(got.Segments, want.Segments) || got.Exclusions != want.Exclusions || got.Settings != want.Settings || got.Request != want.Request {
		t.Errorf("%s: segments, exclusions, settings or request differ: %+v %+v, want %+v %+v", name, got.Segments, got.Exclusions, want.Segments, want.Exclusions)
	}
	g, w := got.Comparison, want.Comparison
	g.Greedy.SolveSeconds, g.Exact.SolveSeconds = w.Greedy.SolveSeconds, w.Exact.SolveSeconds
	if g != w {
		t.Errorf("%s: comparison %+v, want %+v", name, g, w)
	}
}

// TestPlannerMatchesOptimize checks that a Planner, which backtracks one
// table for every budget, gives the reports and files of Optimize, which
// sizes a table for each request, and the same errors.
func TestPlannerMatchesOptimize(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(41, 42))
	configs := []func(*Config){
		func(*Config) {},
		func(c *Config) { c.MinPerSegment = 0 },
		func(c *Config) { c.MinPerSegment = 3; c.IncludeChurned = true },
		func(c *Config) { c.CostNewCents, c.CostMidCents, c.CostLongCents = 1037, 999, 1501 },
	}
	for k, change := range configs {
		cfg := DefaultConfig()
		change(&cfg)
		s := syntheticScores(uint64(50+k), 150+40*k)
		p, err := NewPlanner(ctx, s, dataset.ModelSLearner, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !p.HasTable() {
			t.Fatalf("config %d: planner has no table", k)
		}
		for _, budget := range plannerBudgets(rng, p) {
			for _, solver := range []string{"", RequestSolverGreedy} {
				name := fmt.Sprintf("config%d_budget%v_solver%q", k, budget, solver)
				req := Request{Split: dataset.Val, Model: dataset.ModelSLearner, Budget: budget, Solver: solver}
				want, wantErr := Optimize(ctx, s, req, cfg, discard)
				got, err := p.Optimize(ctx, req, discard)
				if wantErr != nil || err != nil {
					if fmt.Sprint(err) != fmt.Sprint(wantErr) {
						t.Errorf("%s: error %v, want %v", name, err, wantErr)
					}
					continue
				}
				sameReports(t, name, got, want)
				if solver == "" && budget == 23 {
					sameFiles(t, name, got, want)
				}
			}
		}
	}
}

// sameFiles writes the files of both reports, with the clock fields made
// equal, and compares them byte for byte.
func sameFiles(t *testing.T, name string, got, want *Report) {
	t.Helper()
	got.GeneratedAt = want.GeneratedAt
	got.Comparison.Greedy.SolveSeconds = want.Comparison.Greedy.SolveSeconds
	got.Comparison.Exact.SolveSeconds = want.Comparison.Exact.SolveSeconds
	gotFiles, err := got.WriteFilesWith(context.Background(), t.TempDir(), "x", WriteOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	wantFiles, err := want.WriteFiles(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	for k, path := range gotFiles.Paths() {
		a, err1 := os.ReadFile(path)
		b, err2 := os.ReadFile(wantFiles.Paths()[k])
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", name, err1, err2)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: %s differs from the file of Optimize", name, filepath.Base(path))
		}
	}
}

// TestPlannerWithoutTable checks the fallback when the table would exceed
// MaxCells: every request is solved on its own, by branch and bound here.
func TestPlannerWithoutTable(t *testing.T) {
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.MaxCells = 1
	s := syntheticScores(7, 300)
	p, err := NewPlanner(ctx, s, dataset.ModelEnsemble, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p.HasTable() {
		t.Fatalf("planner built a table above MaxCells")
	}
	for _, budget := range []float64{40, 333.33, 2500} {
		req := Request{Split: dataset.Train, Model: dataset.ModelEnsemble, Budget: budget}
		want, err := Optimize(ctx, s, req, cfg, discard)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Optimize(ctx, req, discard)
		if err != nil {
			t.Fatal(err)
		}
		if got.Solver != SolverBranchAndBound {
			t.Errorf("budget %v: solver %s, want %s", budget, got.Solver, SolverBranchAndBound)
		}
		sameReports(t, fmt.Sprintf("budget%v", budget), got, want)
	}
}

// TestPlannerMatchesBruteForce solves small random tables at every
// budget from one Planner and checks the exact net value against
// enumeration of all subsets of the eligible customers.
func TestPlannerMatchesBruteForce(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 6))
	solved, infeasible := 0, 0
	for id := range 120 {
		s := syntheticScores(uint64(100+id), 8+rng.IntN(40))
		cfg := DefaultConfig()
		cfg.MinPerSegment = rng.IntN(3)
		p, err := NewPlanner(ctx, s, dataset.ModelEnsemble, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.eligible) == 0 || len(p.eligible) > 16 {
			continue
		}
		for _, budget := range plannerBudgets(rng, p) {
			name := fmt.Sprintf("table%d_k%d_budget%v", id, cfg.MinPerSegment, budget)
			cents, err := BudgetCents(budget)
			if err != nil {
				t.Fatal(err)
			}
			want, ok := bruteForce(p.eligible, cents, cfg.MinPerSegment)
			r, err := p.Optimize(ctx, Request{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: budget}, discard)
			if !ok {
				infeasible++
				if !errors.Is(err, ErrInfeasible) {
					t.Errorf("%s: brute force is infeasible, planner returned %v", name, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v (brute force optimum %d cents)", name, err, want)
			}
			solved++
			if got := r.Comparison.Exact.NetValue; got != dollars(want) || !r.Optimal || r.Solver != SolverDP {
				t.Errorf("%s: exact net %v (optimal %v, solver %s), brute force %v", name, got, r.Optimal, r.Solver, dollars(want))
			}
			if r.Comparison.Greedy.NetValue > r.Comparison.Exact.NetValue {
				t.Errorf("%s: greedy %v beats exact %v", name, r.Comparison.Greedy.NetValue, r.Comparison.Exact.NetValue)
			}
		}
	}
	if solved < 200 || infeasible < 20 {
		t.Errorf("%d feasible and %d infeasible cases, want at least 200 and 20", solved, infeasible)
	}
}

func TestPlannerRejectsOtherModel(t *testing.T) {
	p, err := NewPlanner(context.Background(), testScores(), dataset.ModelEnsemble, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Optimize(context.Background(), Request{Split: dataset.Test, Model: dataset.ModelSLearner, Budget: 100}, discard)
	if !errors.Is(err, ErrUnknownModel) {
		t.Errorf("error %v, want ErrUnknownModel", err)
	}
	if _, err := NewPlanner(context.Background(), testScores(), "t_learner", DefaultConfig()); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("unknown model: error %v, want ErrUnknownModel", err)
	}
}

func TestPlannerCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewPlanner(ctx, syntheticScores(1, 200), dataset.ModelEnsemble, DefaultConfig()); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

// referenceCRM writes the CRM export the direct way, one csv.Writer
// record per customer after sorting, as a reference for the prepared rows
// of writeCRM.
func referenceCRM(w io.Writer, r *Report) error {
	rank := denseRatioRanks(r.customers)
	rows := make([]int, len(r.customers))
	for i := range rows {
		rows[i] = i
	}
	slices.SortFunc(rows, func(i, j int) int {
		if r.selected[i] != r.selected[j] {
			if r.selected[i] {
				return -1
			}
			return 1
		}
		return cmp.Or(rank[i]-rank[j], strings.Compare(r.customers[i].ID, r.customers[j].ID))
	})
	cw := csv.NewWriter(w)
	if err := cw.Write(crmHeader); err != nil {
		return err
	}
	for _, i := range rows {
		c := r.customers[i]
		recommendation := RecommendNoTreat
		if r.selected[i] {
			recommendation = RecommendTreat
		}
		rec := []string{
			c.ID,
			strconv.FormatFloat(c.CLV, 'f', 2, 64),
			strconv.FormatFloat(c.Uplift, 'f', 6, 64),
			strconv.FormatFloat(dollars(c.ValueCents), 'f', 2, 64),
			strconv.FormatFloat(dollars(c.CostCents), 'f', 2, 64),
			c.Segment.String(),
			recommendation,
			strconv.Itoa(rank[i]),
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// TestCRMMatchesCSVWriter compares the prepared CRM rows with csv.Writer
// output, on IDs that need quoting and on tied ratios.
func TestCRMMatchesCSVWriter(t *testing.T) {
	s := syntheticScores(9, 400)
	odd := []string{`a,b`, `quote"d`, ` lead`, "line\nbreak", "", `\.`, "tab\tin"}
	for k, id := range odd {
		s.IDs[k*7] = id
	}
	// Rows 300 to 309 share one CLV and uplift, so their ratios tie, and
	// their IDs sort in the reverse of the row order.
	for i := 300; i < 310; i++ {
		s.IDs[i] = fmt.Sprintf("tie-%02d", 309-i)
		s.CLV[i], s.P0[i], s.Tenure[i] = 1000, 0.5, 20
		for m := range s.Uplift {
			s.Uplift[m][i] = 0.2
		}
	}
	p, err := NewPlanner(context.Background(), s, dataset.ModelEnsemble, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, budget := range []float64{50, 700, 5000} {
		r, err := p.Optimize(context.Background(), Request{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: budget}, discard)
		if err != nil {
			t.Fatal(err)
		}
		var got, want bytes.Buffer
		if err := r.writeCRM(&got); err != nil {
			t.Fatal(err)
		}
		if err := referenceCRM(&want, r); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("budget %v: CRM export differs from csv.Writer output (%d and %d bytes)", budget, got.Len(), want.Len())
		}
		rows, err := csv.NewReader(&got).ReadAll()
		if err != nil {
			t.Fatalf("budget %v: export does not parse: %v", budget, err)
		}
		if len(rows) != s.Len()+1 {
			t.Errorf("budget %v: %d rows, want %d", budget, len(rows), s.Len()+1)
		}
	}
}

// TestDeepDiveOrderMatchesSort checks the prepared v/cost order of the
// deep-dive against sorting each segment's selected and skipped
// customers.
func TestDeepDiveOrderMatchesSort(t *testing.T) {
	s := syntheticScores(12, 500)
	for i := 100; i < 120; i++ {
		s.CLV[i], s.P0[i] = 800, 0.6
		s.Uplift[dataset.ModelEnsemble][i] = 0.25
	}
	p, err := NewPlanner(context.Background(), s, dataset.ModelEnsemble, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, budget := range []float64{40, 400, 1200, 100000} {
		r, err := p.Optimize(context.Background(), Request{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: budget}, discard)
		if err != nil {
			t.Fatal(err)
		}
		d := r.SegmentDeepDive()
		for k, seg := range Segments {
			var selected, skipped []Customer
			for row, c := range r.customers {
				if c.Segment != seg || c.Status != StatusEligible {
					continue
				}
				if r.selected[row] {
					selected = append(selected, c)
				} else {
					skipped = append(skipped, c)
				}
			}
			slices.SortFunc(selected, compareDeepDive)
			slices.SortFunc(skipped, compareDeepDive)
			got := d.Segments[k]
			var wantTop []string
			for _, c := range selected[:min(len(selected), DeepDiveTopCustomers)] {
				wantTop = append(wantTop, c.ID)
			}
			var gotTop []string
			for _, c := range got.TopSelected {
				gotTop = append(gotTop, c.ID)
			}
			if !slices.Equal(gotTop, wantTop) {
				t.Errorf("budget %v segment %s: top %v, want %v", budget, seg, gotTop, wantTop)
			}
			wantLowest, wantHighest := 0.0, 0.0
			if len(selected) > 0 {
				wantLowest = ratio(selected[len(selected)-1])
			}
			if len(skipped) > 0 {
				wantHighest = ratio(skipped[0])
			}
			if got.LowestSelectedRatio != wantLowest || got.HighestSkippedRatio != wantHighest {
				t.Errorf("budget %v segment %s: lowest selected %v highest skipped %v, want %v %v",
					budget, seg, got.LowestSelectedRatio, got.HighestSkippedRatio, wantLowest, wantHighest)
			}
		}
	}
}

func TestWriteFilesNoSync(t *testing.T) {
	_, r := optimizeSynthetic(t, 31, 300, 700)
	dir := t.TempDir()
	files, err := r.WriteFilesWith(context.Background(), dir, "nosync", WriteOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Errorf("folder holds %d entries, want the 4 files and no temporary one", len(entries))
	}
	for _, path := range files.Paths() {
		info, err := os.Stat(path)
		if err != nil || info.Size() == 0 || info.Mode().Perm() != 0o644 {
			t.Errorf("file %s: %v (info %v)", path, err, info)
		}
	}
}

// TestPlannerTelco compares a Planner with Optimize on all 7,043 real
// customers, where the table spans the whole eligible cost.
func TestPlannerTelco(t *testing.T) {
	s := telcoScores(t)
	ctx := context.Background()
	p, err := NewPlanner(ctx, s, dataset.ModelEnsemble, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if !p.HasTable() {
		t.Fatalf("no table for %d eligible customers", len(p.eligible))
	}
	for _, budget := range []float64{200, 2500, 7500, 20000} {
		req := Request{Split: dataset.Train, Model: dataset.ModelEnsemble, Budget: budget}
		want, err := Optimize(ctx, s, req, DefaultConfig(), discard)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Optimize(ctx, req, discard)
		if err != nil {
			t.Fatal(err)
		}
		sameReports(t, fmt.Sprintf("budget%v", budget), got, want)
	}
}
