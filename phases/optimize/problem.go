package optimize

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"time"
)

// Solver names reported in Solution.Solver.
const (
	SolverGreedy         = "greedy"
	SolverDP             = "exact_dp"
	SolverBranchAndBound = "exact_branch_and_bound"
)

// Solution is a selection of customers for one budget.
type Solution struct {
	// Selected lists indices into the customers given to the solver, in
	// increasing order. It is empty only when Infeasible is set.
	Selected []int

	BudgetCents int64
	CostCents   int64 // total treatment cost, at most BudgetCents
	ValueCents  int64 // sum of v
	NetCents    int64 // sum of v - cost, the objective

	// Optimal reports whether NetCents is proven to be the maximum.
	Optimal bool
	// Bound is an upper bound on the net value in dollars. It equals the
	// net value when Optimal is true.
	Bound float64
	// Gap is (Bound - net value) / Bound, 0 when Optimal is true.
	Gap float64

	Solver string
	// Duration is the solve time. In a sweep it includes the time of the
	// shared dynamic-programming table.
	Duration time.Duration

	// Infeasible is set, and Selected empty, when no selection fits the
	// budget and meets the segment minimums. Only SolveExactSweep returns
	// such solutions, because the single-budget solvers return the error.
	Infeasible *InfeasibleError
}

// SegmentMinimum is the cheapest way to meet the minimum of one segment.
type SegmentMinimum struct {
	Segment   Segment `json:"segment"`
	Eligible  int     `json:"eligible"`
	Minimum   int     `json:"minimum"`
	CostCents int64   `json:"cost_cents"` // sum of the Minimum cheapest costs
}

// InfeasibleError describes a budget that cannot pay for any valid
// selection. It wraps ErrInfeasible.
type InfeasibleError struct {
	BudgetCents int64
	// NeededCents is the smallest budget with a valid selection: the cost
	// of meeting every segment minimum, or the cheapest treatment when no
	// segment has a minimum.
	NeededCents int64
	// Segments lists the segments with a minimum above zero.
	Segments []SegmentMinimum
	// Cheapest is the segment of the cheapest eligible customer, used in
	// the message when no segment has a minimum.
	Cheapest Segment
}

// Error names the budget, the segments whose minimums cannot be paid for
// and the budget needed.
func (e *InfeasibleError) Error() string {
	budget := formatCents(e.BudgetCents)
	needed := formatCents(e.NeededCents)
	if len(e.Segments) == 0 {
		return fmt.Sprintf("%v: budget %s is below the cheapest eligible treatment, %s in segment %s, so raise the budget to at least %s",
			ErrInfeasible, budget, needed, e.Cheapest, needed)
	}
	parts := make([]string, len(e.Segments))
	for i, s := range e.Segments {
		parts[i] = fmt.Sprintf("%s needs %d for %s", s.Segment, s.Minimum, formatCents(s.CostCents))
	}
	return fmt.Sprintf("%v: budget %s cannot meet the segment minimums (%s), which cost %s in total, so raise the budget to at least %s",
		ErrInfeasible, budget, strings.Join(parts, ", "), needed, needed)
}

// Unwrap returns ErrInfeasible.
func (e *InfeasibleError) Unwrap() error { return ErrInfeasible }

// problem is a validated budget problem shared by the solvers.
type problem struct {
	customers []Customer
	// order lists the customer indices by v/cost descending, then by v
	// descending, then by ID and index.
	order []int
	// members lists the customer indices of each segment in order.
	members [numSegments][]int
	// minimum is the effective minimum of each segment, min(k, eligible).
	minimum [numSegments]int
	// minCost is the cost of the cheapest selection meeting the minimums.
	minCost int64
	// cheapest is the index of a cheapest customer.
	cheapest int
}

// newProblem validates the customers and prepares the shared orderings. It
// returns an error wrapping ErrNoEligible for an empty list and
// ErrInvalidCustomer for a customer that cannot be selected.
func newProblem(customers []Customer, cfg Config) (*problem, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(customers) == 0 {
		return nil, fmt.Errorf("%w: the customer list is empty", ErrNoEligible)
	}
	p := &problem{customers: customers, cheapest: 0}
	for i, c := range customers {
		if err := validateCustomer(c); err != nil {
			return nil, fmt.Errorf("%w %d (%s): %v", ErrInvalidCustomer, i, c.ID, err)
		}
		p.members[c.Segment] = append(p.members[c.Segment], i)
		if c.CostCents < customers[p.cheapest].CostCents {
			p.cheapest = i
		}
	}

	p.order = p.rankOrder()

	for s := range numSegments {
		p.minimum[s] = min(cfg.MinPerSegment, len(p.members[s]))
		costs := make([]int64, len(p.members[s]))
		for j, i := range p.members[s] {
			costs[j] = customers[i].CostCents
		}
		slices.Sort(costs)
		for _, c := range costs[:p.minimum[s]] {
			p.minCost += c
		}
	}
	return p, nil
}

func validateCustomer(c Customer) error {
	switch {
	case c.Segment < 0 || int(c.Segment) >= numSegments:
		return fmt.Errorf("invalid segment %d", int(c.Segment))
	case c.CostCents <= 0 || c.CostCents > MaxCostCents:
		return fmt.Errorf("cost %d cents is outside 1 to %d", c.CostCents, MaxCostCents)
	case c.ValueCents <= c.CostCents:
		return fmt.Errorf("value %d cents does not exceed cost %d cents", c.ValueCents, c.CostCents)
	case c.ValueCents > MaxValueCents:
		return fmt.Errorf("value %d cents exceeds the limit of %d cents", c.ValueCents, int64(MaxValueCents))
	}
	return nil
}

// rankOrder returns the customer indices sorted by compareRank.
//
// It sorts compact keys holding v/cost as a float64 and compares the
// customers themselves only when two floats are equal. This gives exactly
// the order of compareRank: v and cost are integers below 2^53, so they
// convert to float64 exactly, and the correctly rounded quotient is
// monotone, so a strictly larger float quotient means a strictly larger
// exact ratio. The keys keep the sort in cache, which matters at a
// million customers.
func (p *problem) rankOrder() []int {
	type key struct {
		ratio float64
		index int
	}
	keys := make([]key, len(p.customers))
	for i, c := range p.customers {
		keys[i] = key{float64(c.ValueCents) / float64(c.CostCents), i}
	}
	slices.SortFunc(keys, func(a, b key) int {
		switch {
		case a.ratio > b.ratio:
			return -1
		case a.ratio < b.ratio:
			return 1
		}
		return p.compareRank(a.index, b.index)
	})
	order := make([]int, len(keys))
	for k, key := range keys {
		order[k] = key.index
	}
	return order
}

// compareRank orders customers for selection: v/cost descending, then v
// descending, then ID and index ascending.
func (p *problem) compareRank(i, j int) int {
	a, b := p.customers[i], p.customers[j]
	if r := compareRatios(a.ValueCents, a.CostCents, b.ValueCents, b.CostCents); r != 0 {
		return -r
	}
	if a.ValueCents != b.ValueCents {
		if a.ValueCents > b.ValueCents {
			return -1
		}
		return 1
	}
	if c := strings.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	return i - j
}

// checkBudget returns an *InfeasibleError when no valid selection fits
// the budget: the segment minimums cost more than the budget, or no
// customer is affordable at all. An empty selection does not count as
// valid, so an empty campaign is never reported as a solution.
func (p *problem) checkBudget(budgetCents int64) *InfeasibleError {
	cheapest := p.customers[p.cheapest]
	if p.minCost <= budgetCents && cheapest.CostCents <= budgetCents {
		return nil
	}
	e := &InfeasibleError{BudgetCents: budgetCents, NeededCents: p.minCost, Cheapest: cheapest.Segment}
	if p.minCost == 0 {
		e.NeededCents = cheapest.CostCents
	}
	for s := range numSegments {
		if p.minimum[s] > 0 {
			e.Segments = append(e.Segments, p.segmentMinimum(Segment(s)))
		}
	}
	return e
}

func (p *problem) segmentMinimum(s Segment) SegmentMinimum {
	costs := make([]int64, 0, len(p.members[s]))
	for _, i := range p.members[s] {
		costs = append(costs, p.customers[i].CostCents)
	}
	slices.Sort(costs)
	m := SegmentMinimum{Segment: s, Eligible: len(costs), Minimum: p.minimum[s]}
	for _, c := range costs[:m.Minimum] {
		m.CostCents += c
	}
	return m
}

// solution builds a Solution from a selection mask.
func (p *problem) solution(selected []bool, budgetCents int64, solver string) *Solution {
	sol := &Solution{BudgetCents: budgetCents, Solver: solver}
	for i, ok := range selected {
		if !ok {
			continue
		}
		c := p.customers[i]
		sol.Selected = append(sol.Selected, i)
		sol.CostCents += c.CostCents
		sol.ValueCents += c.ValueCents
	}
	sol.NetCents = sol.ValueCents - sol.CostCents
	return sol
}

// setBound records an upper bound in cents on the net value, and the gap.
func (s *Solution) setBound(boundCents int64) {
	boundCents = max(boundCents, s.NetCents)
	s.Bound = dollars(boundCents)
	s.Optimal = boundCents == s.NetCents
	s.Gap = 0
	if !s.Optimal && boundCents > 0 {
		s.Gap = float64(boundCents-s.NetCents) / float64(boundCents)
	}
}

// lpBound returns the floor of the LP-relaxation (fractional knapsack)
// bound on the net value of the customers order[from:] with capacity
// budgetCents, ignoring segment minimums. prefixCost and prefixNet are
// prefix sums over order.
func lpBound(p *problem, prefixCost, prefixNet []int64, from int, budgetCents int64) int64 {
	// Find the last position end such that order[from:end] fits whole.
	base := prefixCost[from]
	lo, hi := from, len(p.order)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if prefixCost[mid]-base <= budgetCents {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	end := lo
	bound := prefixNet[end] - prefixNet[from]
	if end == len(p.order) {
		return bound
	}
	// Add the fitting fraction of the break item, floor(rest × net / cost).
	// rest < cost, so the quotient is below net and fits in 64 bits.
	rest := budgetCents - (prefixCost[end] - base)
	c := p.customers[p.order[end]]
	hi64, lo64 := bits.Mul64(uint64(rest), uint64(c.NetCents()))
	q, _ := bits.Div64(hi64, lo64, uint64(c.CostCents))
	return bound + int64(q)
}

// prefixSums returns the prefix sums of cost and net value over p.order.
func (p *problem) prefixSums() (cost, net []int64) {
	cost = make([]int64, len(p.order)+1)
	net = make([]int64, len(p.order)+1)
	for k, i := range p.order {
		c := p.customers[i]
		cost[k+1] = cost[k] + c.CostCents
		net[k+1] = net[k] + c.NetCents()
	}
	return cost, net
}
