package optimize

import (
	"fmt"
	"time"
)

// SolveGreedy selects customers by v/cost for a budget in cents.
//
// It walks the customers by v/cost descending (ties: higher v, then ID) and
// takes each one that still fits, skipping those that do not. Then, for
// each segment below its minimum, it adds the segment's best remaining
// customers and, while the budget is exceeded, drops the lowest-ratio picks
// of segments above their minimum. When that repair cannot fit the budget,
// it restarts from the cheapest selection that meets the minimums. A final
// pass adds any remaining customer that fits in the budget left over.
//
// The minimum of a segment is min(Config.MinPerSegment, eligible customers
// in the segment). A budget below the cost of the minimums, or below every
// cost, is an *InfeasibleError wrapping ErrInfeasible. The Bound of the
// result is the LP relaxation without minimums, so Optimal is true only
// when the greedy selection reaches it.
func SolveGreedy(customers []Customer, budgetCents int64, cfg Config) (*Solution, error) {
	start := time.Now()
	if budgetCents <= 0 {
		return nil, fmt.Errorf("greedy: %w: %d cents", ErrInvalidBudget, budgetCents)
	}
	p, err := newProblem(customers, cfg)
	if err != nil {
		return nil, fmt.Errorf("greedy: %w", err)
	}
	if e := p.checkBudget(budgetCents); e != nil {
		return nil, e
	}

	prefixCost, prefixNet := p.prefixSums()
	return greedySolution(p, prefixCost, prefixNet, budgetCents, start), nil
}

// greedySolution runs the greedy selection for a budget that passed
// checkBudget, bounds it by the LP relaxation over the prefix sums of
// p.prefixSums, and times it from start.
func greedySolution(p *problem, prefixCost, prefixNet []int64, budgetCents int64, start time.Time) *Solution {
	sol := p.solution(greedySelect(p, budgetCents), budgetCents, SolverGreedy)
	sol.setBound(lpBound(p, prefixCost, prefixNet, 0, budgetCents))
	sol.Duration = time.Since(start)
	return sol
}

// greedySelect returns the greedy selection mask. The budget must have
// passed checkBudget.
func greedySelect(p *problem, budgetCents int64) []bool {
	g := &greedyState{p: p, budget: budgetCents, selected: make([]bool, len(p.customers))}
	g.fill()
	if !g.repair() {
		g.restartFromMinimums()
	}
	g.fill()
	return g.selected
}

type greedyState struct {
	p        *problem
	budget   int64
	selected []bool
	spent    int64
	count    [numSegments]int
}

func (g *greedyState) add(i int) {
	c := g.p.customers[i]
	g.selected[i] = true
	g.spent += c.CostCents
	g.count[c.Segment]++
}

func (g *greedyState) drop(i int) {
	c := g.p.customers[i]
	g.selected[i] = false
	g.spent -= c.CostCents
	g.count[c.Segment]--
}

// fill takes, in ratio order, every unselected customer that fits.
func (g *greedyState) fill() {
	for _, i := range g.p.order {
		if !g.selected[i] && g.spent+g.p.customers[i].CostCents <= g.budget {
			g.add(i)
		}
	}
}

// repair raises every segment to its minimum. It returns false when the
// budget cannot be met that way.
func (g *greedyState) repair() bool {
	for s := range numSegments {
		for g.count[s] < g.p.minimum[s] {
			next := -1
			for _, i := range g.p.order {
				if !g.selected[i] && g.p.customers[i].Segment == Segment(s) {
					next = i
					break
				}
			}
			if next < 0 {
				return false // unreachable: the minimum never exceeds the members
			}
			g.add(next)
			g.dropWhileOverBudget()
			if g.spent > g.budget {
				return false
			}
		}
	}
	return true
}

// dropWhileOverBudget drops the lowest-ratio selected customers of
// segments above their minimum until the selection fits the budget.
func (g *greedyState) dropWhileOverBudget() {
	order := g.p.order
	for k := len(order) - 1; k >= 0 && g.spent > g.budget; k-- {
		i := order[k]
		s := g.p.customers[i].Segment
		if g.selected[i] && g.count[s] > g.p.minimum[s] {
			g.drop(i)
		}
	}
}

// restartFromMinimums selects the cheapest customers that meet every
// minimum, best ratio first among equal costs. checkBudget has already
// verified that they fit.
func (g *greedyState) restartFromMinimums() {
	clear(g.selected)
	g.spent = 0
	g.count = [numSegments]int{}
	for s := range numSegments {
		for g.count[s] < g.p.minimum[s] {
			best := -1
			for _, i := range g.p.order {
				c := g.p.customers[i]
				if g.selected[i] || c.Segment != Segment(s) {
					continue
				}
				if best < 0 || c.CostCents < g.p.customers[best].CostCents {
					best = i
				}
			}
			g.add(best)
		}
	}
}
