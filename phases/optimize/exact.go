package optimize

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// SolveExact returns a maximum-net-value selection for a budget in cents,
// with the same rules and errors as SolveGreedy. It uses the dynamic
// program of SolveExactSweep, or branch and bound when the program would
// exceed Config.MaxCells. The result is proven optimal unless branch and
// bound hits Config.TimeLimit; then Optimal is false and Gap is set.
func SolveExact(customers []Customer, budgetCents int64, cfg Config) (*Solution, error) {
	return solveExact(context.Background(), customers, budgetCents, cfg)
}

func solveExact(ctx context.Context, customers []Customer, budgetCents int64, cfg Config) (*Solution, error) {
	sols, err := solveExactSweep(ctx, customers, []int64{budgetCents}, cfg)
	if err != nil {
		return nil, err
	}
	if sols[0].Infeasible != nil {
		return nil, sols[0].Infeasible
	}
	return sols[0], nil
}

// SolveExactSweep solves the budget problem exactly for every budget in
// cents. Budgets whose minimums cannot be met get a Solution with
// Infeasible set instead of an error.
//
// Costs are put on a common grid: g is the greatest common divisor of all
// costs in cents, an item weighs cost/g units, and budget b allows
// floor(b/g) units. This is exact because every total cost is a multiple of
// g. The dynamic program runs once for the largest budget, capped at the
// total weight, and its final table gives the optimum for every smaller
// budget, so a sweep costs one solve plus one backtrack per budget.
//
// Segment minimums: the segments are processed one after the other, with
// the value table of each starting from the final table of the previous
// one. Within a segment, level c of the table holds the best value with
// min(count taken in the segment, k) = c, as in a 0/1 knapsack with a
// cardinality dimension capped at k. Only level k passes to the next
// segment. This gives the same optimum as max-plus convolution of separate
// per-segment tables over budget units, at O(items × units × (k+1)) time
// instead of adding O(units²) per segment.
//
// When the tables would exceed Config.MaxCells, each budget is solved by
// branch and bound instead (see SolveBranchAndBound).
func SolveExactSweep(customers []Customer, budgetsCents []int64, cfg Config) ([]*Solution, error) {
	return solveExactSweep(context.Background(), customers, budgetsCents, cfg)
}

// solveExactSweep is SolveExactSweep that stops with ctx.Err() when ctx is
// done.
func solveExactSweep(ctx context.Context, customers []Customer, budgetsCents []int64, cfg Config) ([]*Solution, error) {
	if len(budgetsCents) == 0 {
		return nil, fmt.Errorf("exact sweep: no budgets given")
	}
	for _, b := range budgetsCents {
		if b <= 0 || b > MaxBudgetCents {
			return nil, fmt.Errorf("exact sweep: %w: %d cents, expected 1 to %d", ErrInvalidBudget, b, int64(MaxBudgetCents))
		}
	}
	p, err := newProblem(customers, cfg)
	if err != nil {
		return nil, fmt.Errorf("exact sweep: %w", err)
	}

	dp := newKnapsack(p, slices.Max(budgetsCents))
	if dp.cells() > cfg.MaxCells {
		sols := make([]*Solution, len(budgetsCents))
		for k, b := range budgetsCents {
			if sols[k], err = solveBranchAndBound(ctx, p, b, cfg); err != nil {
				return nil, err
			}
		}
		return sols, nil
	}

	start := time.Now()
	if err := dp.run(ctx); err != nil {
		return nil, err
	}
	shared := time.Since(start)
	sols := make([]*Solution, len(budgetsCents))
	for k, b := range budgetsCents {
		t := time.Now()
		if e := p.checkBudget(b); e != nil {
			sols[k] = &Solution{BudgetCents: b, Solver: SolverDP, Infeasible: e, Duration: time.Since(t)}
			continue
		}
		sel := dp.backtrack(b)
		sol := p.solution(sel, b, SolverDP)
		if got := dp.value(b); sol.NetCents != got {
			panic(fmt.Sprintf("optimize: backtracked net %d cents differs from table value %d", sol.NetCents, got))
		}
		sol.setBound(sol.NetCents)
		sol.Duration = time.Since(t) + shared
		sols[k] = sol
	}
	return sols, nil
}

// unreachable marks a table entry with no valid selection. Every reachable
// entry is a sum of positive net values, so it is at least zero.
const unreachable = -1

// knapsack is the dynamic program of SolveExactSweep.
type knapsack struct {
	p     *problem
	grid  int64 // g, the greatest common divisor of the costs in cents
	units int   // largest budget in grid units, capped at the total weight
	segs  []knapsackSegment
	// final[j] is the best net value in cents with weight <= j units and
	// every minimum met, or unreachable.
	final []int64
}

// knapsackSegment contains the items of one segment and its backtracking bits.
type knapsackSegment struct {
	items []int // customer indices
	k     int   // effective minimum, the top count level
	// took has one bit per (item, level, unit): set when the entry after
	// the item was reached by taking it.
	took bitset
	// fromBelow has one bit per (item, unit) for level k: set when taking
	// the item came from level k-1 rather than from level k.
	fromBelow bitset
}

func newKnapsack(p *problem, maxBudgetCents int64) *knapsack {
	ks := &knapsack{p: p, grid: p.customers[0].CostCents}
	var totalCost int64
	for _, c := range p.customers {
		ks.grid = gcd(ks.grid, c.CostCents)
		totalCost += c.CostCents
	}
	// Budget beyond the total cost buys nothing more.
	ks.units = int(min(maxBudgetCents, totalCost) / ks.grid)
	for s := range numSegments {
		if len(p.members[s]) > 0 {
			ks.segs = append(ks.segs, knapsackSegment{items: p.members[s], k: p.minimum[s]})
		}
	}
	return ks
}

// cells returns the table size in cells as Config.MaxCells counts them.
// It uses float64 because the product can exceed int64 on huge budgets.
func (ks *knapsack) cells() float64 {
	width := float64(ks.units) + 1
	var total float64
	maxLevels := 0
	for _, s := range ks.segs {
		total += float64(len(s.items)) * width * float64(s.k+1)
		maxLevels = max(maxLevels, s.k+1)
	}
	return total + 64*width*float64(maxLevels+1)
}

func (ks *knapsack) weight(i int) int { return int(ks.p.customers[i].CostCents / ks.grid) }

// run fills the tables. It returns ctx.Err() when ctx is done.
func (ks *knapsack) run(ctx context.Context) error {
	width := ks.units + 1
	base := make([]int64, width) // zero: the empty selection fits everywhere
	for si := range ks.segs {
		seg := &ks.segs[si]
		levels := seg.k + 1
		table := make([][]int64, levels)
		table[0] = base
		for c := 1; c < levels; c++ {
			table[c] = make([]int64, width)
			for j := range table[c] {
				table[c][j] = unreachable
			}
		}
		seg.took = newBitset(len(seg.items) * levels * width)
		if seg.k > 0 {
			seg.fromBelow = newBitset(len(seg.items) * width)
		}
		for idx, i := range seg.items {
			if err := ctx.Err(); err != nil {
				return err
			}
			ks.addItem(seg, table, idx, i)
		}
		base = table[seg.k]
	}
	ks.final = base
	return nil
}

// addItem updates the levels of one segment in place for item i at
// position idx. Levels run from k down and units from high to low, so every
// read at unit j-w gets the value from before the item.
func (ks *knapsack) addItem(seg *knapsackSegment, table [][]int64, idx, i int) {
	w := ks.weight(i)
	net := ks.p.customers[i].NetCents()
	width := ks.units + 1
	levels := seg.k + 1
	for c := seg.k; c >= 0; c-- {
		row := (idx*levels + c) * width
		switch {
		case c == seg.k && c > 0:
			// Taking at the top level keeps the count at k or lifts it
			// from k-1.
			ks.takeTop(seg, table[c], table[c-1], w, net, row, idx*width)
		case c == seg.k:
			// k = 0: the only level takes from itself.
			takeInto(table[c], table[c], w, net, seg.took, row, ks.units)
		case c > 0:
			takeInto(table[c], table[c-1], w, net, seg.took, row, ks.units)
		}
		// Level 0 below a positive k cannot be reached by taking.
	}
}

// takeInto sets dst[j] = max(dst[j], src[j-w] + net) for j from units
// down to w and marks the entries that took the item.
func takeInto(dst, src []int64, w int, net int64, took bitset, row, units int) {
	for j := units; j >= w; j-- {
		v := src[j-w]
		if v == unreachable || v+net <= dst[j] {
			continue
		}
		dst[j] = v + net
		took.set(row + j)
	}
}

// takeTop is takeInto for level k > 0, which has two sources: level k
// itself and level k-1. It marks in fromBelow the entries that came from
// level k-1.
func (ks *knapsack) takeTop(seg *knapsackSegment, top, below []int64, w int, net int64, row, belowRow int) {
	for j := ks.units; j >= w; j-- {
		best, from := top[j], 0
		if v := top[j-w]; v != unreachable && v+net > best {
			best, from = v+net, 1
		}
		if v := below[j-w]; v != unreachable && v+net > best {
			best, from = v+net, 2
		}
		if from == 0 {
			continue
		}
		top[j] = best
		seg.took.set(row + j)
		if from == 2 {
			seg.fromBelow.set(belowRow + j)
		}
	}
}

// value returns the optimum in cents for a budget, or unreachable.
func (ks *knapsack) value(budgetCents int64) int64 {
	return ks.final[ks.budgetUnits(budgetCents)]
}

func (ks *knapsack) budgetUnits(budgetCents int64) int {
	return int(min(budgetCents/ks.grid, int64(ks.units)))
}

// backtrack returns the selection mask behind value(budgetCents).
func (ks *knapsack) backtrack(budgetCents int64) []bool {
	selected := make([]bool, len(ks.p.customers))
	j := ks.budgetUnits(budgetCents)
	width := ks.units + 1
	for si := len(ks.segs) - 1; si >= 0; si-- {
		seg := &ks.segs[si]
		levels := seg.k + 1
		c := seg.k
		for idx := len(seg.items) - 1; idx >= 0; idx-- {
			if !seg.took.get((idx*levels+c)*width + j) {
				continue
			}
			i := seg.items[idx]
			selected[i] = true
			if c < seg.k || seg.k > 0 && seg.fromBelow.get(idx*width+j) {
				c--
			}
			j -= ks.weight(i)
		}
		if c != 0 {
			panic(fmt.Sprintf("optimize: backtrack of segment %d ended at level %d", si, c))
		}
	}
	return selected
}

// bitset is a fixed-size set of bits.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i int)      { b[i>>6] |= 1 << (i & 63) }
func (b bitset) get(i int) bool { return b[i>>6]&(1<<(i&63)) != 0 }
