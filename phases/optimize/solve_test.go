package optimize

import (
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// instance is a small random budget problem.
type instance struct {
	name      string
	customers []Customer
	budget    int64
	k         int
}

// randomInstance draws a problem of 1 to 18 customers. The cost modes cover
// costs on the default 100-cent grid, off any useful grid (gcd 1), random
// costs, and equal v/cost ratios. Budgets range from below the cheapest
// cost to above the total cost.
func randomInstance(rng *rand.Rand, id int) instance {
	n := 1 + rng.IntN(18)
	mode := rng.IntN(4)
	// Some instances use fewer segments, so that segments are empty or
	// have fewer members than the minimum.
	segments := 1 + rng.IntN(3)
	in := instance{k: rng.IntN(3)}
	var total, cheapest int64
	for i := range n {
		seg := Segment(rng.IntN(segments))
		if rng.IntN(5) == 0 {
			seg = Segment(rng.IntN(numSegments))
		}
		var cost, value int64
		switch mode {
		case 0:
			cost = []int64{1500, 1000, 800}[seg]
			value = cost + 1 + rng.Int64N(3000)
		case 1:
			cost = []int64{1037, 999, 1501, 1213}[rng.IntN(4)]
			value = cost + 1 + rng.Int64N(3000)
		case 2:
			cost = 1 + rng.Int64N(3000)
			value = cost + 1 + rng.Int64N(3000)
		case 3:
			cost = []int64{800, 1000, 1500}[rng.IntN(3)]
			value = cost * (2 + rng.Int64N(2))
		}
		in.customers = append(in.customers, Customer{
			ID:         fmt.Sprintf("c%02d", i),
			Row:        i,
			Segment:    seg,
			CostCents:  cost,
			ValueCents: value,
		})
		total += cost
		if i == 0 || cost < cheapest {
			cheapest = cost
		}
	}
	switch rng.IntN(4) {
	case 0:
		in.budget = max(1, cheapest-1-rng.Int64N(cheapest))
	case 1:
		in.budget = total + rng.Int64N(1000)
	default:
		in.budget = 1 + rng.Int64N(total)
	}
	in.name = fmt.Sprintf("instance%d_n%d_mode%d_k%d_budget%d", id, n, mode, in.k, in.budget)
	return in
}

// bruteForce enumerates every subset in Gray-code order and returns the
// best net value in cents, or ok false when no non-empty subset fits the
// budget and the minimums min(k, members) of every segment.
func bruteForce(customers []Customer, budget int64, k int) (best int64, ok bool) {
	n := len(customers)
	var members, need [numSegments]int
	for _, c := range customers {
		members[c.Segment]++
	}
	for s := range numSegments {
		need[s] = min(k, members[s])
	}
	var in []bool = make([]bool, n)
	var cost, net int64
	var count [numSegments]int
	for g := uint64(1); g < 1<<n; g++ {
		i := bits.TrailingZeros64(g)
		c := customers[i]
		sign := int64(1)
		if in[i] {
			sign = -1
		}
		in[i] = !in[i]
		cost += sign * c.CostCents
		net += sign * c.NetCents()
		count[c.Segment] += int(sign)
		if cost > budget {
			continue
		}
		if count[0] < need[0] || count[1] < need[1] || count[2] < need[2] {
			continue
		}
		if !ok || net > best {
			best, ok = net, true
		}
	}
	return best, ok
}

// checkSolution verifies that sol is a valid selection for the instance and
// that its totals match the selected customers.
func checkSolution(t *testing.T, in instance, sol *Solution) {
	t.Helper()
	if len(sol.Selected) == 0 {
		t.Fatalf("%s: %s returned an empty selection", in.name, sol.Solver)
	}
	var members, count [numSegments]int
	for _, c := range in.customers {
		members[c.Segment]++
	}
	var cost, value int64
	seen := make(map[int]bool)
	for _, i := range sol.Selected {
		if seen[i] {
			t.Fatalf("%s: %s selected customer %d twice", in.name, sol.Solver, i)
		}
		seen[i] = true
		c := in.customers[i]
		cost += c.CostCents
		value += c.ValueCents
		count[c.Segment]++
	}
	if cost != sol.CostCents || value != sol.ValueCents || value-cost != sol.NetCents {
		t.Errorf("%s: %s totals cost %d value %d net %d, selection gives %d %d %d",
			in.name, sol.Solver, sol.CostCents, sol.ValueCents, sol.NetCents, cost, value, value-cost)
	}
	if cost > in.budget {
		t.Errorf("%s: %s spends %d cents over budget %d", in.name, sol.Solver, cost, in.budget)
	}
	for s := range numSegments {
		if need := min(in.k, members[s]); count[s] < need {
			t.Errorf("%s: %s selected %d in segment %s, minimum %d", in.name, sol.Solver, count[s], Segment(s), need)
		}
	}
}

func instanceConfig(in instance) Config {
	cfg := DefaultConfig()
	cfg.MinPerSegment = in.k
	return cfg
}

const bruteForceInstances = 600

func TestExactMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	infeasible := 0
	for id := range bruteForceInstances {
		in := randomInstance(rng, id)
		want, ok := bruteForce(in.customers, in.budget, in.k)
		sol, err := SolveExact(in.customers, in.budget, instanceConfig(in))
		if !ok {
			infeasible++
			if !errors.Is(err, ErrInfeasible) {
				t.Errorf("%s: brute force is infeasible, exact returned %v", in.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: exact: %v (brute force optimum %d cents)", in.name, err, want)
		}
		if sol.Solver != SolverDP {
			t.Errorf("%s: solver %q, want %q", in.name, sol.Solver, SolverDP)
		}
		if sol.NetCents != want {
			t.Errorf("%s: exact net %d cents, brute force %d", in.name, sol.NetCents, want)
		}
		if !sol.Optimal || sol.Gap != 0 || sol.Bound != dollars(want) {
			t.Errorf("%s: optimal %v gap %v bound %v, want true 0 %v", in.name, sol.Optimal, sol.Gap, sol.Bound, dollars(want))
		}
		checkSolution(t, in, sol)
	}
	// The generator must exercise both outcomes.
	if infeasible < bruteForceInstances/20 || infeasible > bruteForceInstances/2 {
		t.Errorf("%d of %d instances infeasible, expected between 5%% and 50%%", infeasible, bruteForceInstances)
	}
}

func TestBranchAndBoundMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for id := range bruteForceInstances {
		in := randomInstance(rng, id)
		cfg := instanceConfig(in)
		cfg.MaxCells = 1 // forces the fallback
		want, ok := bruteForce(in.customers, in.budget, in.k)
		sol, err := SolveExact(in.customers, in.budget, cfg)
		if !ok {
			if !errors.Is(err, ErrInfeasible) {
				t.Errorf("%s: brute force is infeasible, branch and bound returned %v", in.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: branch and bound: %v (brute force optimum %d cents)", in.name, err, want)
		}
		if sol.Solver != SolverBranchAndBound {
			t.Errorf("%s: solver %q, want %q", in.name, sol.Solver, SolverBranchAndBound)
		}
		if sol.NetCents != want {
			t.Errorf("%s: branch and bound net %d cents, brute force %d", in.name, sol.NetCents, want)
		}
		if !sol.Optimal || sol.Gap != 0 || sol.Bound != dollars(want) {
			t.Errorf("%s: optimal %v gap %v bound %v, want true 0 %v", in.name, sol.Optimal, sol.Gap, sol.Bound, dollars(want))
		}
		checkSolution(t, in, sol)
	}
}

func TestGreedyNeverBeatsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	worse := 0
	for id := range bruteForceInstances {
		in := randomInstance(rng, id)
		cfg := instanceConfig(in)
		exact, exactErr := SolveExact(in.customers, in.budget, cfg)
		greedy, greedyErr := SolveGreedy(in.customers, in.budget, cfg)
		if (exactErr != nil) != (greedyErr != nil) {
			t.Fatalf("%s: exact error %v, greedy error %v", in.name, exactErr, greedyErr)
		}
		if exactErr != nil {
			if !errors.Is(greedyErr, ErrInfeasible) {
				t.Errorf("%s: greedy error %v does not wrap ErrInfeasible", in.name, greedyErr)
			}
			continue
		}
		checkSolution(t, in, greedy)
		if greedy.NetCents > exact.NetCents {
			t.Errorf("%s: greedy net %d cents beats exact %d", in.name, greedy.NetCents, exact.NetCents)
		}
		if greedy.NetCents < exact.NetCents {
			worse++
			if greedy.Optimal {
				t.Errorf("%s: greedy claims optimal at %d cents, exact is %d", in.name, greedy.NetCents, exact.NetCents)
			}
		}
		if greedy.Bound < dollars(exact.NetCents) {
			t.Errorf("%s: greedy LP bound %v is below the optimum %v", in.name, greedy.Bound, dollars(exact.NetCents))
		}
	}
	// Greedy must be suboptimal somewhere, or the comparison proves little.
	if worse == 0 {
		t.Errorf("greedy matched exact on all %d instances", bruteForceInstances)
	}
}

func TestSweepMatchesSingleSolves(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for id := range 100 {
		in := randomInstance(rng, id)
		cfg := instanceConfig(in)
		budgets := []int64{in.budget, 1, in.budget / 2, in.budget*2 + 7, 999, 1037 * 3}
		sweep, err := SolveExactSweep(in.customers, budgets, cfg)
		if err != nil {
			t.Fatalf("%s: sweep: %v", in.name, err)
		}
		if len(sweep) != len(budgets) {
			t.Fatalf("%s: sweep returned %d solutions for %d budgets", in.name, len(sweep), len(budgets))
		}
		for k, b := range budgets {
			if b <= 0 {
				continue
			}
			single, err := SolveExact(in.customers, b, cfg)
			got := sweep[k]
			if got.BudgetCents != b {
				t.Errorf("%s: sweep solution %d has budget %d, want %d", in.name, k, got.BudgetCents, b)
			}
			if err != nil {
				if got.Infeasible == nil {
					t.Errorf("%s budget %d: single solve failed with %v, sweep found net %d", in.name, b, err, got.NetCents)
				}
				if len(got.Selected) != 0 {
					t.Errorf("%s budget %d: infeasible sweep solution selects %d customers", in.name, b, len(got.Selected))
				}
				continue
			}
			if got.Infeasible != nil {
				t.Errorf("%s budget %d: sweep infeasible (%v), single solve net %d", in.name, b, got.Infeasible, single.NetCents)
				continue
			}
			if got.NetCents != single.NetCents {
				t.Errorf("%s budget %d: sweep net %d cents, single solve %d", in.name, b, got.NetCents, single.NetCents)
			}
			want, _ := bruteForce(in.customers, b, in.k)
			if got.NetCents != want {
				t.Errorf("%s budget %d: sweep net %d cents, brute force %d", in.name, b, got.NetCents, want)
			}
			sub := in
			sub.budget = b
			checkSolution(t, sub, got)
		}
	}
}

// segmentCustomers builds eligible customers with given segment costs.
func segmentCustomers(segments []Segment, cost func(Segment) int64) []Customer {
	out := make([]Customer, len(segments))
	for i, s := range segments {
		c := cost(s)
		out[i] = Customer{ID: fmt.Sprintf("s%d", i), Segment: s, CostCents: c, ValueCents: 3*c + int64(i)}
	}
	return out
}

func TestInfeasibleMinimumsNameSegments(t *testing.T) {
	cfg := DefaultConfig()
	customers := segmentCustomers([]Segment{SegmentNew, SegmentMid, SegmentMid, SegmentLong}, cfg.Cost)
	// Minimums cost 1500 + 1000 + 800 = 3300 cents.
	for _, solve := range []struct {
		name string
		fn   func([]Customer, int64, Config) (*Solution, error)
	}{{"greedy", SolveGreedy}, {"exact", SolveExact}} {
		sol, err := solve.fn(customers, 3299, cfg)
		if sol != nil {
			t.Errorf("%s: returned a solution with %d customers for an infeasible budget", solve.name, len(sol.Selected))
		}
		if !errors.Is(err, ErrInfeasible) {
			t.Fatalf("%s: error %v does not wrap ErrInfeasible", solve.name, err)
		}
		var ie *InfeasibleError
		if !errors.As(err, &ie) {
			t.Fatalf("%s: error %T is not an *InfeasibleError", solve.name, err)
		}
		if ie.NeededCents != 3300 {
			t.Errorf("%s: needed %d cents, want 3300", solve.name, ie.NeededCents)
		}
		if len(ie.Segments) != 3 {
			t.Errorf("%s: %d segments listed, want 3", solve.name, len(ie.Segments))
		}
		for _, name := range []string{"new", "mid", "long", "$33.00", "$32.99"} {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("%s: message %q does not contain %q", solve.name, err, name)
			}
		}
		if sol, err := solve.fn(customers, 3300, cfg); err != nil || len(sol.Selected) != 3 {
			t.Errorf("%s: budget 3300 gave %v, %v; want the three minimum customers", solve.name, sol, err)
		}
	}
}

func TestInfeasibleWithoutMinimums(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MinPerSegment = 0
	customers := segmentCustomers([]Segment{SegmentNew, SegmentLong}, cfg.Cost)
	_, err := SolveExact(customers, 799, cfg)
	var ie *InfeasibleError
	if !errors.As(err, &ie) {
		t.Fatalf("error %v is not an *InfeasibleError", err)
	}
	if ie.NeededCents != 800 || len(ie.Segments) != 0 || ie.Cheapest != SegmentLong {
		t.Errorf("got needed %d, %d segments, cheapest %s; want 800, 0, long", ie.NeededCents, len(ie.Segments), ie.Cheapest)
	}
	if !strings.Contains(err.Error(), "cheapest eligible treatment") || !strings.Contains(err.Error(), "long") {
		t.Errorf("message %q does not name the cheapest treatment and its segment", err)
	}
}

func TestSolversRejectBadInput(t *testing.T) {
	cfg := DefaultConfig()
	good := segmentCustomers([]Segment{SegmentNew}, cfg.Cost)
	if _, err := SolveExact(good, 0, cfg); !errors.Is(err, ErrInvalidBudget) {
		t.Errorf("exact with budget 0: %v, want ErrInvalidBudget", err)
	}
	if _, err := SolveGreedy(good, -5, cfg); !errors.Is(err, ErrInvalidBudget) {
		t.Errorf("greedy with budget -5: %v, want ErrInvalidBudget", err)
	}
	if _, err := SolveExact(nil, 1000, cfg); !errors.Is(err, ErrNoEligible) {
		t.Errorf("exact with no customers: %v, want ErrNoEligible", err)
	}
	bad := []Customer{{ID: "x", Segment: SegmentMid, CostCents: 1000, ValueCents: 1000}}
	if _, err := SolveGreedy(bad, 5000, cfg); !errors.Is(err, ErrInvalidCustomer) {
		t.Errorf("greedy with v = cost: %v, want ErrInvalidCustomer", err)
	}
	if _, err := SolveExactSweep(good, nil, cfg); err == nil {
		t.Errorf("sweep with no budgets returned no error")
	}
}

// TestGreedyRepairsMinimums covers the repair step: the ratio pass spends
// the budget on the new segment, so the long segment's customer must be
// added and the lowest-ratio new customer dropped.
func TestGreedyRepairsMinimums(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CostNewCents, cfg.CostLongCents = 1000, 1000
	customers := []Customer{
		{ID: "a", Segment: SegmentNew, CostCents: 1000, ValueCents: 5000},
		{ID: "b", Segment: SegmentNew, CostCents: 1000, ValueCents: 4000},
		{ID: "c", Segment: SegmentNew, CostCents: 1000, ValueCents: 3000},
		{ID: "d", Segment: SegmentLong, CostCents: 1000, ValueCents: 1500},
	}
	sol, err := SolveGreedy(customers, 3000, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{0, 1, 3}
	if fmt.Sprint(sol.Selected) != fmt.Sprint(want) {
		t.Errorf("selected %v, want %v", sol.Selected, want)
	}
	if sol.NetCents != 4000+3000+500 {
		t.Errorf("net %d cents, want 7500", sol.NetCents)
	}
}

// TestGreedyTieOrder checks the tie rules: equal ratio goes to the higher
// value, then to the smaller ID.
func TestGreedyTieOrder(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MinPerSegment = 0
	customers := []Customer{
		{ID: "z", Segment: SegmentMid, CostCents: 1000, ValueCents: 2000},
		{ID: "y", Segment: SegmentMid, CostCents: 1500, ValueCents: 3000},
		{ID: "b", Segment: SegmentMid, CostCents: 1000, ValueCents: 2000},
	}
	p, err := newProblem(customers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 2, 0}; fmt.Sprint(p.order) != fmt.Sprint(want) {
		t.Errorf("order %v, want %v", p.order, want)
	}
	sol, err := SolveGreedy(customers, 1000, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sol.Selected) != "[2]" {
		t.Errorf("budget 1000 selected %v, want [2] (ID b before z)", sol.Selected)
	}
}

// TestBranchAndBoundTimeLimit stops the search at its first clock check
// and verifies that the reported bound is still an upper bound on the
// optimum from the dynamic program.
func TestBranchAndBoundTimeLimit(t *testing.T) {
	// Costs vary per customer, so classes have one member each and the
	// dominance rule cannot shrink the search.
	rng := rand.New(rand.NewPCG(9, 10))
	customers := syntheticCustomers(rng, 400, true)
	for i := range customers {
		customers[i].CostCents = 700 + rng.Int64N(900)
		customers[i].ValueCents = customers[i].CostCents + 1 + rng.Int64N(2000)
	}
	cfg := DefaultConfig()
	budget := int64(150_000)
	exact, err := SolveExact(customers, budget, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if exact.Solver != SolverDP {
		t.Fatalf("reference solver %q, want %q", exact.Solver, SolverDP)
	}

	cfg.MaxCells = 1
	cfg.TimeLimit = time.Nanosecond
	sol, err := SolveExact(customers, budget, cfg)
	if err != nil {
		t.Fatal(err)
	}
	in := instance{name: "time_limit", customers: customers, budget: budget, k: cfg.MinPerSegment}
	checkSolution(t, in, sol)
	if sol.NetCents > exact.NetCents {
		t.Errorf("net %d cents beats the optimum %d", sol.NetCents, exact.NetCents)
	}
	if sol.Bound < dollars(exact.NetCents) {
		t.Errorf("bound %v is below the optimum %v", sol.Bound, dollars(exact.NetCents))
	}
	if sol.Optimal && sol.NetCents != exact.NetCents {
		t.Errorf("claims optimal at %d cents, optimum is %d", sol.NetCents, exact.NetCents)
	}
	if sol.Optimal {
		t.Fatalf("search finished before it checked the 1 ns time limit, so the test no longer exercises the limit")
	}
	if !(sol.Gap > 0 && sol.Gap < 1) {
		t.Errorf("not optimal but gap is %v", sol.Gap)
	}
}

// syntheticCustomers draws n eligible customers with Telco-like tenure
// segments. With offGrid the costs are 1037, 999 and 1501 cents (gcd 1),
// otherwise the default segment costs.
func syntheticCustomers(rng *rand.Rand, n int, offGrid bool) []Customer {
	cfg := DefaultConfig()
	out := make([]Customer, n)
	for i := range out {
		s := Segment(rng.IntN(numSegments))
		cost := cfg.Cost(s)
		if offGrid {
			cost = []int64{1037, 999, 1501}[s]
		}
		// v = u × CLV with u up to 0.3 and CLV up to $1,500.
		value := int64(100 * rng.Float64() * 0.3 * (200 + 1300*rng.Float64()))
		if value <= cost {
			value = cost + 1 + rng.Int64N(500)
		}
		out[i] = Customer{ID: fmt.Sprintf("cust%05d", i), Row: i, Segment: s, CostCents: cost, ValueCents: value}
	}
	return out
}

// TestBranchAndBoundMatchesDP compares the two exact methods on instances
// too large for brute force, with the grid costs, off-grid costs and
// per-customer costs, and minimums 1 and 5.
func TestBranchAndBoundMatchesDP(t *testing.T) {
	budgets := []int64{2_000, 50_000, 150_000, 400_000}
	for _, tt := range []struct {
		name    string
		offGrid bool
		random  bool
		k       int
	}{
		{"GridCosts", false, false, 1},
		{"OffGridCosts", true, false, 5},
		{"RandomCosts", false, true, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(12, 13))
			customers := syntheticCustomers(rng, 300, tt.offGrid)
			if tt.random {
				for i := range customers {
					customers[i].CostCents = 700 + rng.Int64N(900)
					customers[i].ValueCents = customers[i].CostCents + 1 + rng.Int64N(4000)
				}
			}
			cfg := DefaultConfig()
			cfg.MinPerSegment = tt.k
			cfg.MaxCells = 1e10
			dp, err := SolveExactSweep(customers, budgets, cfg)
			if err != nil {
				t.Fatal(err)
			}
			cfg.MaxCells = 1
			bb, err := SolveExactSweep(customers, budgets, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for k, b := range budgets {
				if dp[k].Solver != SolverDP || bb[k].Solver != SolverBranchAndBound {
					t.Fatalf("budget %d: solvers %s and %s", b, dp[k].Solver, bb[k].Solver)
				}
				if (dp[k].Infeasible == nil) != (bb[k].Infeasible == nil) {
					t.Errorf("budget %d: dp infeasible %v, branch and bound infeasible %v", b, dp[k].Infeasible, bb[k].Infeasible)
					continue
				}
				if dp[k].Infeasible != nil {
					continue
				}
				if dp[k].NetCents != bb[k].NetCents || !bb[k].Optimal {
					t.Errorf("budget %d: dp net %d cents, branch and bound %d (optimal %v)", b, dp[k].NetCents, bb[k].NetCents, bb[k].Optimal)
				}
			}
			if dp[0].Infeasible == nil {
				t.Errorf("budget %d should not cover the minimums", budgets[0])
			}
		})
	}
}

// TestRandomInstancesCoverCases checks that the random instances of the
// brute-force tests contain every case they are meant to cover, so a
// change to the generator cannot quietly drop one.
func TestRandomInstancesCoverCases(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var modes [4]int
	fewMembers, belowCheapest, tiedRatios := 0, 0, 0
	for id := range bruteForceInstances {
		in := randomInstance(rng, id)
		var mode int
		if _, err := fmt.Sscanf(in.name[strings.Index(in.name, "_mode")+5:], "%d", &mode); err != nil {
			t.Fatalf("%s: %v", in.name, err)
		}
		modes[mode]++

		var members [numSegments]int
		cheapest := in.customers[0].CostCents
		for _, c := range in.customers {
			members[c.Segment]++
			cheapest = min(cheapest, c.CostCents)
		}
		for s := range numSegments {
			if members[s] > 0 && members[s] < in.k {
				fewMembers++
				break
			}
		}
		if in.budget < cheapest {
			belowCheapest++
		}
		ratios := map[[2]int64]bool{}
		for _, c := range in.customers {
			g := gcd(c.ValueCents, c.CostCents)
			key := [2]int64{c.ValueCents / g, c.CostCents / g}
			if ratios[key] {
				tiedRatios++
				break
			}
			ratios[key] = true
		}
	}
	for mode, n := range modes {
		if n < bruteForceInstances/10 {
			t.Errorf("cost mode %d occurs %d times, want at least %d", mode, n, bruteForceInstances/10)
		}
	}
	for _, c := range []struct {
		name string
		n    int
	}{
		{"a segment with fewer customers than its minimum", fewMembers},
		{"a budget below the cheapest cost", belowCheapest},
		{"two customers with the same v/cost", tiedRatios},
	} {
		if c.n < bruteForceInstances/20 {
			t.Errorf("%s occurs in %d instances, want at least %d", c.name, c.n, bruteForceInstances/20)
		}
	}
	t.Logf("modes %v, few members %d, below cheapest %d, tied ratios %d", modes, fewMembers, belowCheapest, tiedRatios)
}
