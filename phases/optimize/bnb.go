package optimize

import (
	"context"
	"slices"
	"time"
)

// solveBranchAndBound solves one budget by depth-first branch and bound.
//
// Items are branched on in v/cost order, taking before skipping, so the
// undecided items of a node are always a suffix of that order. The upper
// bound of a node is its net value plus the LP relaxation (fractional
// knapsack) of the suffix, which prefix sums give in O(log n). A node is cut
// when the bound cannot beat the incumbent, or when the segment minimums
// still open cannot be met by the cheapest remaining members of their
// segments within the remaining budget. The greedy selection is the first
// incumbent.
//
// The search stops at Config.TimeLimit. Every node left open then adds its
// bound, so the reported Bound is the largest bound of any unexplored
// subtree (or the incumbent), and Optimal is true only when the search
// finished. A done ctx ends the search with ctx.Err().
func solveBranchAndBound(ctx context.Context, p *problem, budgetCents int64, cfg Config) (*Solution, error) {
	start := time.Now()
	if e := p.checkBudget(budgetCents); e != nil {
		return &Solution{BudgetCents: budgetCents, Solver: SolverBranchAndBound, Infeasible: e, Duration: time.Since(start)}, nil
	}
	s := newSearch(ctx, p, budgetCents, start.Add(cfg.TimeLimit))
	s.dfs(0, budgetCents)
	if s.ctxErr != nil {
		return nil, s.ctxErr
	}

	sol := p.solution(s.best, budgetCents, SolverBranchAndBound)
	if s.stopped {
		sol.setBound(max(s.openBound, sol.NetCents))
	} else {
		sol.setBound(sol.NetCents)
	}
	sol.Duration = time.Since(start)
	return sol, nil
}

// search is the state of one branch-and-bound run.
type search struct {
	p          *problem
	prefixCost []int64
	prefixNet  []int64

	// remaining[s][pos] counts the members of segment s at order positions
	// >= pos. cheapest[s][pos*m+j] is the sum of the j+1 cheapest of their
	// costs, for j < m = p.minimum[s] and j < remaining[s][pos].
	remaining [numSegments][]int
	cheapest  [numSegments][]int64

	chosen []bool
	net    int64
	need   [numSegments]int

	best    []bool
	bestNet int64

	ctx       context.Context
	ctxErr    error
	nodes     int
	deadline  time.Time
	stopped   bool
	openBound int64
}

func newSearch(ctx context.Context, p *problem, budgetCents int64, deadline time.Time) *search {
	n := len(p.order)
	s := &search{p: p, chosen: make([]bool, n), ctx: ctx, deadline: deadline, need: p.minimum}
	s.prefixCost, s.prefixNet = p.prefixSums()

	// Walk the order backwards, keeping the m cheapest costs per segment.
	var kept [numSegments][]int64
	for seg := range numSegments {
		s.remaining[seg] = make([]int, n+1)
		s.cheapest[seg] = make([]int64, (n+1)*p.minimum[seg])
	}
	for pos := n; pos >= 0; pos-- {
		if pos < n {
			c := p.customers[p.order[pos]]
			seg := c.Segment
			m := p.minimum[seg]
			at, _ := slices.BinarySearch(kept[seg], c.CostCents)
			if at < m {
				kept[seg] = slices.Insert(kept[seg], at, c.CostCents)
				if len(kept[seg]) > m {
					kept[seg] = kept[seg][:m]
				}
			}
		}
		for seg := range numSegments {
			if pos < n {
				s.remaining[seg][pos] = s.remaining[seg][pos+1]
			}
			m := p.minimum[seg]
			var sum int64
			for j, cost := range kept[seg] {
				sum += cost
				s.cheapest[seg][pos*m+j] = sum
			}
		}
		if pos < n {
			s.remaining[p.customers[p.order[pos]].Segment][pos]++
		}
	}

	s.best = greedySelect(p, budgetCents)
	for i, ok := range s.best {
		if ok {
			s.bestNet += p.customers[i].NetCents()
		}
	}
	return s
}

// canMeetMinimums reports whether the open minimums can still be met from
// order[pos:] within rest cents.
func (s *search) canMeetMinimums(pos int, rest int64) bool {
	var cost int64
	for seg := range numSegments {
		need := s.need[seg]
		if need == 0 {
			continue
		}
		if s.remaining[seg][pos] < need {
			return false
		}
		cost += s.cheapest[seg][pos*s.p.minimum[seg]+need-1]
	}
	return cost <= rest
}

func (s *search) minimumsMet() bool { return s.need == [numSegments]int{} }

// record makes the current selection the incumbent when it is better.
func (s *search) record() {
	if s.minimumsMet() && s.net > s.bestNet {
		s.bestNet = s.net
		copy(s.best, s.chosen)
	}
}

func (s *search) dfs(pos int, rest int64) {
	if !s.canMeetMinimums(pos, rest) {
		return
	}
	bound := s.net + lpBound(s.p, s.prefixCost, s.prefixNet, pos, rest)
	s.nodes++
	if s.nodes%1024 == 0 && !s.stopped {
		s.ctxErr = s.ctx.Err()
		s.stopped = s.ctxErr != nil || time.Now().After(s.deadline)
	}
	if s.stopped {
		s.openBound = max(s.openBound, bound)
		return
	}
	s.record()
	if pos == len(s.p.order) || bound <= s.bestNet {
		return
	}

	// When the whole suffix fits, taking all of it is best: every net
	// value is positive, and the feasibility check above guarantees that
	// the suffix holds enough members of each open segment.
	if s.prefixCost[len(s.p.order)]-s.prefixCost[pos] <= rest {
		if bound > s.bestNet {
			copy(s.best, s.chosen)
			for _, i := range s.p.order[pos:] {
				s.best[i] = true
			}
			s.bestNet = bound
		}
		return
	}

	i := s.p.order[pos]
	c := s.p.customers[i]
	if c.CostCents <= rest {
		s.chosen[i] = true
		s.net += c.NetCents()
		counted := s.need[c.Segment] > 0
		if counted {
			s.need[c.Segment]--
		}
		s.dfs(pos+1, rest-c.CostCents)
		if counted {
			s.need[c.Segment]++
		}
		s.net -= c.NetCents()
		s.chosen[i] = false
	}
	s.dfs(pos+1, rest)
}
