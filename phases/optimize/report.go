// Package optimize is Phase 4 of the pipeline: it chooses which customers
// of a split to treat in a retention campaign under a budget.
//
// Each customer gets an incremental value v = u × CLV from the uplift
// model and a treatment cost from its tenure segment. The problem is a 0/1
// knapsack with segment minimums:
//
//	maximise   Σ (v_i - cost_i) over the selected customers
//	subject to Σ cost_i <= budget
//	           at least min(k, eligible_s) selected in every segment s
//
// SolveGreedy gives a fast ratio-ordered selection; SolveExact and
// SolveExactSweep give a proven optimum by dynamic programming over budget
// units, with branch and bound for problems too large for the tables.
// Optimize runs both for one request and builds the Report, and
// Report.WriteFiles writes the CRM export, the report JSON and a Markdown
// summary. A Planner does what Optimize does for many requests on one
// split and model, reusing one exact table for every budget. All money is
// computed in integer cents.
package optimize

import (
	"context"
	"log/slog"
	"time"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// Solver names accepted in Request.Solver.
const (
	RequestSolverExact  = "exact"
	RequestSolverGreedy = "greedy"
)

// Request is one optimisation request.
type Request struct {
	Split  string  `json:"split"`  // train, val or test
	Model  string  `json:"model"`  // an uplift model of the scores table
	Budget float64 `json:"budget"` // dollars, finite and > 0
	// Solver picks the reported solution: "exact" (default when empty) or
	// "greedy". Both are always run for the comparison.
	Solver string `json:"solver"`
}

// Settings records the Config values that shape the result.
type Settings struct {
	CostNew        float64 `json:"cost_new"`  // dollars per customer
	CostMid        float64 `json:"cost_mid"`  // dollars per customer
	CostLong       float64 `json:"cost_long"` // dollars per customer
	MinUplift      float64 `json:"min_uplift"`
	MinPerSegment  int     `json:"min_per_segment"`
	IncludeChurned bool    `json:"include_churned"`
}

// SolverSummary is the outcome of one solver in the comparison.
type SolverSummary struct {
	Solver            string  `json:"solver"`
	CustomersSelected int     `json:"customers_selected"`
	TotalCost         float64 `json:"total_cost"`
	NetValue          float64 `json:"net_value"`
	Optimal           bool    `json:"optimal"`
	Bound             float64 `json:"bound"`
	Gap               float64 `json:"gap"`
	SolveSeconds      float64 `json:"solve_seconds"`
}

// Comparison sets the greedy solution against the exact one.
type Comparison struct {
	Greedy SolverSummary `json:"greedy"`
	Exact  SolverSummary `json:"exact"`
	// NetValueGain is the exact minus the greedy net value, in dollars.
	NetValueGain float64 `json:"net_value_gain"`
	// GreedyShare is the greedy net value as a fraction of the exact one.
	GreedyShare float64 `json:"greedy_share_of_exact"`
}

// SegmentSummary describes one tenure segment of the split and its part of
// the chosen selection. Money is in dollars.
type SegmentSummary struct {
	Segment          Segment `json:"segment"`
	UnitCost         float64 `json:"unit_cost"`
	Customers        int     `json:"customers"`
	Eligible         int     `json:"eligible"`
	Minimum          int     `json:"minimum"`
	Selected         int     `json:"selected"`
	TotalCost        float64 `json:"total_cost"`
	IncrementalValue float64 `json:"incremental_value"`
	NetValue         float64 `json:"net_value"`
}

// Report is the result of Optimize. Its exported fields are the report
// JSON. It also keeps every customer of the split for WriteFiles, so a
// Report decoded from JSON cannot write the CRM export.
type Report struct {
	Request     Request `json:"request"`
	BudgetCents int64   `json:"budget_cents"`
	// Solver is the solver that produced the chosen selection, for example
	// exact_dp or greedy.
	Solver  string  `json:"solver"`
	Optimal bool    `json:"optimal"`
	Gap     float64 `json:"gap"`
	Bound   float64 `json:"bound"` // upper bound on the net value, dollars

	Metrics     Metrics          `json:"metrics"`
	Segments    []SegmentSummary `json:"segments"`
	Comparison  Comparison       `json:"comparison"`
	Exclusions  Exclusions       `json:"exclusions"`
	Settings    Settings         `json:"settings"`
	GeneratedAt time.Time        `json:"generated_at"`

	customers []Customer // every customer of the split, in table order
	selected  []bool     // by position in customers
	// files holds the parts of the output files that do not depend on the
	// selection. Reports of one Planner share it; nil builds it on use.
	files *renderCache
}

// Optimize prices the customers of one split with the requested model,
// solves the budget problem with both the greedy and the exact solver, and
// reports the requested solver's selection with a comparison of the two.
//
// Errors: an invalid budget wraps ErrInvalidBudget, an unknown solver
// ErrUnknownSolver, an unknown model ErrUnknownModel, a split with no
// customer worth treating ErrNoEligible, and a budget that cannot meet the segment
// minimums ErrInfeasible (as an *InfeasibleError). A done ctx returns
// ctx.Err(), checked between steps and inside the solvers.
func Optimize(ctx context.Context, s *dataset.Scores, req Request, cfg Config, log *slog.Logger) (*Report, error) {
	budget, req, err := checkRequest(req)
	if err != nil {
		return nil, err
	}
	p, err := newPlanner(ctx, s, req.Model, cfg, false)
	if err != nil {
		return nil, err
	}
	return p.optimize(ctx, req, budget, log)
}

func newReport(req Request, cfg Config, all, eligible []Customer, ex Exclusions, sol *Solution) *Report {
	r := &Report{
		Request:     req,
		BudgetCents: sol.BudgetCents,
		Solver:      sol.Solver,
		Optimal:     sol.Optimal,
		Gap:         sol.Gap,
		Bound:       sol.Bound,
		Metrics:     ComputeMetrics(eligible, sol, ex),
		Exclusions:  ex,
		Settings: Settings{
			CostNew:        dollars(cfg.CostNewCents),
			CostMid:        dollars(cfg.CostMidCents),
			CostLong:       dollars(cfg.CostLongCents),
			MinUplift:      cfg.MinUplift,
			MinPerSegment:  cfg.MinPerSegment,
			IncludeChurned: cfg.IncludeChurned,
		},
		GeneratedAt: time.Now().UTC(),
		customers:   all,
		selected:    make([]bool, len(all)),
	}
	for _, i := range sol.Selected {
		r.selected[eligible[i].Row] = true
	}

	for _, seg := range Segments {
		sum := SegmentSummary{Segment: seg, UnitCost: dollars(cfg.Cost(seg))}
		var cost, value int64
		for row, c := range all {
			if c.Segment != seg {
				continue
			}
			sum.Customers++
			if c.Status == StatusEligible {
				sum.Eligible++
			}
			if r.selected[row] {
				sum.Selected++
				cost += c.CostCents
				value += c.ValueCents
			}
		}
		sum.Minimum = min(cfg.MinPerSegment, sum.Eligible)
		sum.TotalCost = dollars(cost)
		sum.IncrementalValue = dollars(value)
		sum.NetValue = dollars(value - cost)
		r.Segments = append(r.Segments, sum)
	}
	return r
}

func summarise(sol *Solution) SolverSummary {
	return SolverSummary{
		Solver:            sol.Solver,
		CustomersSelected: len(sol.Selected),
		TotalCost:         dollars(sol.CostCents),
		NetValue:          dollars(sol.NetCents),
		Optimal:           sol.Optimal,
		Bound:             sol.Bound,
		Gap:               sol.Gap,
		SolveSeconds:      sol.Duration.Seconds(),
	}
}

func compare(greedy, exact *Solution) Comparison {
	c := Comparison{
		Greedy:       summarise(greedy),
		Exact:        summarise(exact),
		NetValueGain: dollars(exact.NetCents - greedy.NetCents),
	}
	// Both net values are positive, because every solution contains at
	// least one customer and every eligible customer has v > cost.
	c.GreedyShare = float64(greedy.NetCents) / float64(exact.NetCents)
	return c
}

// Selected returns the selected customers in table order.
func (r *Report) Selected() []Customer {
	var out []Customer
	for row, ok := range r.selected {
		if ok {
			out = append(out, r.customers[row])
		}
	}
	return out
}

// Customers returns every customer of the split in table order, eligible
// or not. The slice is shared with the report, so callers must not change
// it. It is nil for a Report decoded from JSON.
func (r *Report) Customers() []Customer { return r.customers }

// IsSelected reports whether the customer at index row of Customers is in
// the chosen selection.
func (r *Report) IsSelected(row int) bool { return r.selected[row] }
