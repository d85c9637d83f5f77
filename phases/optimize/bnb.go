package optimize

import (
	"context"
	"math/bits"
	"slices"
	"time"
)

// solveBranchAndBound solves one budget by depth-first branch and bound.
//
// Items are branched on in v/cost order, taking before skipping, so the
// undecided items of a node are always a suffix of that order. The upper
// bound of a node is its net value plus the LP relaxation (fractional
// knapsack) of the undecided items. A node is cut when that bound cannot
// beat the incumbent, or when the open segment minimums cannot be met by
// the cheapest remaining members of their segments within the remaining
// budget. The greedy selection is the first incumbent.
//
// Dominance: customers with the same segment and cost form a class, and
// the order visits a class by value descending. Once a node skips a member
// of a class, it skips the rest of the class too, because swapping a later
// member for the skipped one keeps cost and segment counts and does not
// lower the value. With the default costs there are only three classes, so
// this turns the search into a choice of how many to take per class.
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

	// class[i] is the class of customer i. closed[c] is set while the
	// current node skips the rest of class c, and closedCount counts the
	// closed classes.
	class       []int
	closed      []bool
	closedCount int

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
	s.buildSuffixMinimums()

	type key struct {
		segment Segment
		cost    int64
	}
	classes := make(map[key]int)
	s.class = make([]int, n)
	for i, c := range p.customers {
		k := key{c.Segment, c.CostCents}
		id, ok := classes[k]
		if !ok {
			id = len(classes)
			classes[k] = id
		}
		s.class[i] = id
	}
	s.closed = make([]bool, len(classes))

	s.best = greedySelect(p, budgetCents)
	for i, ok := range s.best {
		if ok {
			s.bestNet += p.customers[i].NetCents()
		}
	}
	return s
}

// buildSuffixMinimums fills remaining and cheapest by walking the order
// backwards and keeping the m cheapest costs seen per segment.
func (s *search) buildSuffixMinimums() {
	p := s.p
	n := len(p.order)
	var cheapestSoFar [numSegments][]int64
	for seg := range numSegments {
		s.remaining[seg] = make([]int, n+1)
		s.cheapest[seg] = make([]int64, (n+1)*p.minimum[seg])
	}
	for pos := n; pos >= 0; pos-- {
		if pos < n {
			c := p.customers[p.order[pos]]
			m := p.minimum[c.Segment]
			at, _ := slices.BinarySearch(cheapestSoFar[c.Segment], c.CostCents)
			if at < m {
				cheapestSoFar[c.Segment] = slices.Insert(cheapestSoFar[c.Segment], at, c.CostCents)
				if len(cheapestSoFar[c.Segment]) > m {
					cheapestSoFar[c.Segment] = cheapestSoFar[c.Segment][:m]
				}
			}
		}
		for seg := range numSegments {
			if pos < n {
				s.remaining[seg][pos] = s.remaining[seg][pos+1]
			}
			m := p.minimum[seg]
			var sum int64
			for j, cost := range cheapestSoFar[seg] {
				sum += cost
				s.cheapest[seg][pos*m+j] = sum
			}
		}
		if pos < n {
			s.remaining[p.customers[p.order[pos]].Segment][pos]++
		}
	}
}

// canMeetMinimums reports whether the open minimums could still be met
// from order[pos:] within rest cents. It ignores closed classes, so it is
// a relaxation: false proves that the node has no valid completion.
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

// relaxation returns the floor of the LP-relaxation value of the open
// items of order[pos:] with capacity rest, and whether all of them fit.
func (s *search) relaxation(pos int, rest int64) (int64, bool) {
	n := len(s.p.order)
	if s.closedCount == 0 {
		return lpBound(s.p, s.prefixCost, s.prefixNet, pos, rest), s.prefixCost[n]-s.prefixCost[pos] <= rest
	}
	var total int64
	for _, i := range s.p.order[pos:] {
		if s.closed[s.class[i]] {
			continue
		}
		c := s.p.customers[i]
		if c.CostCents > rest {
			// rest < cost, so the quotient is below the net value.
			hi, lo := bits.Mul64(uint64(rest), uint64(c.NetCents()))
			q, _ := bits.Div64(hi, lo, uint64(c.CostCents))
			return total + int64(q), false
		}
		rest -= c.CostCents
		total += c.NetCents()
	}
	return total, true
}

func (s *search) dfs(pos int, rest int64) {
	order := s.p.order
	for pos < len(order) && s.closed[s.class[order[pos]]] {
		pos++
	}
	if !s.canMeetMinimums(pos, rest) {
		return
	}
	relaxed, allFit := s.relaxation(pos, rest)
	bound := s.net + relaxed
	// Check the clock at the first node and then every 1024 nodes.
	s.nodes++
	if s.nodes%1024 == 1 && !s.stopped {
		s.ctxErr = s.ctx.Err()
		s.stopped = s.ctxErr != nil || time.Now().After(s.deadline)
	}
	if s.stopped {
		s.openBound = max(s.openBound, bound)
		return
	}
	s.record()
	if pos == len(order) || bound <= s.bestNet {
		return
	}
	if allFit {
		// Every net value is positive, so taking all open items is the
		// best completion; it is valid when it meets the minimums.
		s.takeAllOpen(pos, bound)
		return
	}

	i := order[pos]
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

	cls := s.class[i]
	s.closed[cls] = true
	s.closedCount++
	s.dfs(pos+1, rest)
	s.closed[cls] = false
	s.closedCount--
}

// takeAllOpen records the current selection plus every open item of
// order[pos:] as the incumbent when it meets the minimums. total is its
// net value.
func (s *search) takeAllOpen(pos int, total int64) {
	need := s.need
	for _, i := range s.p.order[pos:] {
		if seg := s.p.customers[i].Segment; !s.closed[s.class[i]] && need[seg] > 0 {
			need[seg]--
		}
	}
	if need != [numSegments]int{} || total <= s.bestNet {
		return
	}
	copy(s.best, s.chosen)
	for _, i := range s.p.order[pos:] {
		if !s.closed[s.class[i]] {
			s.best[i] = true
		}
	}
	s.bestNet = total
}
