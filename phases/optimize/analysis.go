package optimize

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// SweepPoint is the exact optimum at one budget of a sweep, with the
// greedy net value beside it.
type SweepPoint struct {
	Budget float64 `json:"budget"` // dollars
	// Feasible is false when the budget cannot meet the segment minimums
	// or pay for any treatment. Note then gives the reason, and Metrics
	// describe an empty selection.
	Feasible bool    `json:"feasible"`
	Note     string  `json:"note,omitempty"`
	Solver   string  `json:"solver"`
	Optimal  bool    `json:"optimal"`
	Gap      float64 `json:"gap"`
	// Metrics describe the exact selection.
	Metrics        Metrics `json:"metrics"`
	GreedyNetValue float64 `json:"greedy_net_value"` // dollars
}

// Sweep is a budget sweep: the exact optimum of the same customers at
// several budgets.
type Sweep struct {
	Request Request      `json:"request"`
	Points  []SweepPoint `json:"points"`
	// ExactSeconds is the wall time of the exact solves. The dynamic
	// program solves every budget from one table, so this is about the
	// time of one solve at the largest budget.
	ExactSeconds float64 `json:"exact_seconds"`
	// GreedySeconds is the total time of the greedy solves, one per budget.
	GreedySeconds float64 `json:"greedy_seconds"`
}

// Sweep solves the report's customers exactly at every budget of
// cfg.SweepBudgets with one call of SolveExactSweep, and runs the greedy
// solver at each budget for comparison. Budgets that cannot meet the
// minimums are reported as infeasible points, not as an error.
func (r *Report) Sweep(ctx context.Context, cfg Config) (*Sweep, error) {
	if r.customers == nil {
		return nil, errors.New("budget sweep: report has no customers, because it was decoded from JSON rather than built by Optimize")
	}
	budgets := cfg.SweepBudgets()
	eligible := eligibleOnly(r.customers)
	start := time.Now()
	exact, err := solveExactSweep(ctx, eligible, budgets, cfg)
	if err != nil {
		return nil, fmt.Errorf("budget sweep: %w", err)
	}
	sw := &Sweep{Request: r.Request, ExactSeconds: time.Since(start).Seconds()}

	start = time.Now()
	for k, b := range budgets {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sol := exact[k]
		pt := SweepPoint{Budget: dollars(b), Solver: sol.Solver}
		if sol.Infeasible != nil {
			pt.Note = sol.Infeasible.Error()
			pt.Metrics = emptyMetrics(b, r.Exclusions)
			sw.Points = append(sw.Points, pt)
			continue
		}
		pt.Feasible, pt.Optimal, pt.Gap = true, sol.Optimal, sol.Gap
		pt.Metrics = ComputeMetrics(eligible, sol, r.Exclusions)
		greedy, err := SolveGreedy(eligible, b, cfg)
		if err != nil {
			return nil, fmt.Errorf("budget sweep: greedy at %s: %w", formatCents(b), err)
		}
		pt.GreedyNetValue = dollars(greedy.NetCents)
		sw.Points = append(sw.Points, pt)
	}
	sw.GreedySeconds = time.Since(start).Seconds()
	return sw, nil
}

// emptyMetrics returns the metrics of an empty selection: zero counts and
// money, every segment present.
func emptyMetrics(budgetCents int64, ex Exclusions) Metrics {
	return ComputeMetrics(nil, &Solution{BudgetCents: budgetCents}, ex)
}

// BudgetComparison sets the greedy solution against the exact one at one
// budget, each solved on its own so the solve times compare fairly.
type BudgetComparison struct {
	Budget   float64 `json:"budget"` // dollars
	Feasible bool    `json:"feasible"`
	Note     string  `json:"note,omitempty"`
	Comparison
}

// CompareBudgets runs the greedy and the exact solver on the report's
// customers at each budget in cents. The report's own budget reuses the
// comparison Optimize already made. Infeasible budgets get a row with
// Feasible false and the reason in Note.
func (r *Report) CompareBudgets(ctx context.Context, budgetsCents []int64, cfg Config) ([]BudgetComparison, error) {
	if r.customers == nil {
		return nil, errors.New("compare solvers: report has no customers, because it was decoded from JSON rather than built by Optimize")
	}
	eligible := eligibleOnly(r.customers)
	out := make([]BudgetComparison, 0, len(budgetsCents))
	for _, b := range budgetsCents {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		row := BudgetComparison{Budget: dollars(b), Feasible: true}
		if b == r.BudgetCents {
			row.Comparison = r.Comparison
			out = append(out, row)
			continue
		}
		greedy, err := SolveGreedy(eligible, b, cfg)
		var infeasible *InfeasibleError
		if errors.As(err, &infeasible) {
			row.Feasible, row.Note = false, infeasible.Error()
			out = append(out, row)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("compare solvers at %s: %w", formatCents(b), err)
		}
		exact, err := solveExact(ctx, eligible, b, cfg)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("compare solvers at %s: %w", formatCents(b), err)
		}
		row.Comparison = compare(greedy, exact)
		out = append(out, row)
	}
	return out, nil
}

// Scenario is a what-if variant of an optimisation request.
type Scenario struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// UpliftFactor multiplies every model uplift before it is clipped to
	// p0. CostFactor multiplies the treatment cost of every segment, and
	// the result is rounded to whole cents.
	UpliftFactor float64 `json:"uplift_factor"`
	CostFactor   float64 `json:"cost_factor"`
	// TopCLVShare, when above zero, keeps only that share of the split's
	// customers with the highest CLV (all customers tied with the last
	// one kept stay too) before any other rule applies.
	TopCLVShare float64 `json:"top_clv_share"`
}

// Scenario names, in the order of Scenarios.
const (
	ScenarioBase        = "base"
	ScenarioUpliftHigh  = "uplift_x1.2"
	ScenarioUpliftLow   = "uplift_x0.8"
	ScenarioCostsHigh   = "costs_x1.5"
	ScenarioTopCLVShare = "top20_clv"
)

// Scenarios lists the standard what-if analysis: the request as is,
// uplift 20% higher and 20% lower, costs 50% higher, and only the 20% of
// customers with the highest CLV.
var Scenarios = []Scenario{
	{ScenarioBase, "the request as is", 1, 1, 0},
	{ScenarioUpliftHigh, "every model uplift x1.2, still clipped to p0", 1.2, 1, 0},
	{ScenarioUpliftLow, "every model uplift x0.8", 0.8, 1, 0},
	{ScenarioCostsHigh, "every treatment cost x1.5", 1, 1.5, 0},
	{ScenarioTopCLVShare, "only the 20% of customers with the highest CLV", 1, 1, 0.2},
}

// ScenarioResult is the exact optimum of one scenario at the request's
// budget, with the greedy net value beside it.
type ScenarioResult struct {
	Scenario
	// Customers counts the customers the scenario considers, and
	// Eligible those worth treating under its rules.
	Customers int `json:"customers"`
	Eligible  int `json:"eligible"`
	// Feasible is false when the scenario has no eligible customer or its
	// budget cannot meet the segment minimums. Note then gives the reason.
	Feasible bool    `json:"feasible"`
	Note     string  `json:"note,omitempty"`
	Solver   string  `json:"solver"`
	Optimal  bool    `json:"optimal"`
	Metrics  Metrics `json:"metrics"`
	// GreedyNetValue is the net value of the greedy selection, dollars.
	GreedyNetValue float64 `json:"greedy_net_value"`
	// NetValueChange is the net value minus that of the base scenario,
	// dollars.
	NetValueChange float64 `json:"net_value_change"`
	// SolveSeconds is the time of both solvers.
	SolveSeconds float64 `json:"solve_seconds"`
}

// RunScenarios optimises req under every scenario of Scenarios and returns
// one result each, in that order. A scenario with no eligible customer or
// an unaffordable minimum is reported with Feasible false. Other errors,
// such as an unknown model or a done ctx, stop the analysis.
func RunScenarios(ctx context.Context, s *dataset.Scores, req Request, cfg Config, log *slog.Logger) ([]ScenarioResult, error) {
	budget, err := BudgetCents(req.Budget)
	if err != nil {
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	out := make([]ScenarioResult, 0, len(Scenarios))
	for _, sc := range Scenarios {
		res, err := runScenario(ctx, s, req, budget, cfg, sc, log.With("scenario", sc.Name))
		if err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	for k := range out {
		out[k].NetValueChange = dollars(centsOf(out[k].Metrics.NetValue) - centsOf(out[0].Metrics.NetValue))
	}
	return out, nil
}

func runScenario(ctx context.Context, s *dataset.Scores, req Request, budget int64, cfg Config, sc Scenario, log *slog.Logger) (ScenarioResult, error) {
	res := ScenarioResult{Scenario: sc}
	scores, err := scenarioScores(s, req.Model, sc)
	if err != nil {
		return res, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	cfg.CostNewCents = scaleCents(cfg.CostNewCents, sc.CostFactor)
	cfg.CostMidCents = scaleCents(cfg.CostMidCents, sc.CostFactor)
	cfg.CostLongCents = scaleCents(cfg.CostLongCents, sc.CostFactor)
	res.Customers = scores.Len()

	start := time.Now()
	r, err := Optimize(ctx, scores, req, cfg, log)
	res.SolveSeconds = time.Since(start).Seconds()
	if errors.Is(err, ErrNoEligible) || errors.Is(err, ErrInfeasible) {
		_, ex, perr := priceCustomers(scores, req.Model, cfg)
		if perr != nil {
			return res, fmt.Errorf("scenario %s: %w", sc.Name, perr)
		}
		res.Eligible = ex.Eligible
		res.Note = err.Error()
		res.Metrics = emptyMetrics(budget, ex)
		return res, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		return res, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	res.Eligible = r.Exclusions.Eligible
	res.Feasible = true
	res.Solver, res.Optimal = r.Solver, r.Optimal
	res.Metrics = r.Metrics
	res.GreedyNetValue = r.Comparison.Greedy.NetValue
	return res, nil
}

// scenarioScores returns the scores of a scenario: s itself when the
// scenario changes no score, otherwise a copy with the model's uplift
// scaled and the rows outside the top CLV share dropped.
func scenarioScores(s *dataset.Scores, model string, sc Scenario) (*dataset.Scores, error) {
	if sc.UpliftFactor == 1 && sc.TopCLVShare == 0 {
		return s, nil
	}
	uplift, ok := s.Uplift[model]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownModel, model)
	}
	if len(uplift) != s.Len() || len(s.CLV) != s.Len() {
		return nil, fmt.Errorf("%d ids but %d clv and %d %s uplift values", s.Len(), len(s.CLV), len(uplift), model)
	}

	rows := make([]int, s.Len())
	for i := range rows {
		rows[i] = i
	}
	if sc.TopCLVShare > 0 {
		rows = topCLVRows(s.CLV, sc.TopCLVShare)
	}

	pick := func(v []float64) []float64 {
		if v == nil {
			return nil
		}
		out := make([]float64, len(rows))
		for k, i := range rows {
			out[k] = v[i]
		}
		return out
	}
	out := &dataset.Scores{
		IDs:        make([]string, len(rows)),
		Churned:    pick(s.Churned),
		Tenure:     pick(s.Tenure),
		P0:         pick(s.P0),
		CLV:        pick(s.CLV),
		TrueUplift: pick(s.TrueUplift),
		Uplift:     map[string][]float64{},
	}
	for k, i := range rows {
		out.IDs[k] = s.IDs[i]
	}

	scaled := pick(uplift)
	for k := range scaled {
		scaled[k] *= sc.UpliftFactor
	}
	out.Uplift[model] = scaled
	return out, nil
}

// topCLVRows returns, in table order, the rows whose CLV is at least the
// CLV of the customer ranked ceil(share × n) from the top.
func topCLVRows(clv []float64, share float64) []int {
	if len(clv) == 0 {
		return nil
	}
	sorted := slices.Clone(clv)
	slices.Sort(sorted)
	keep := min(len(clv), max(1, int(math.Ceil(share*float64(len(clv))))))
	cut := sorted[len(sorted)-keep]
	var rows []int
	for i, v := range clv {
		if v >= cut {
			rows = append(rows, i)
		}
	}
	return rows
}

// scaleCents returns round(cents × factor).
func scaleCents(cents int64, factor float64) int64 {
	if factor == 1 {
		return cents
	}
	return int64(math.Round(float64(cents) * factor))
}

// centsOf converts dollars that are already rounded to cents back to
// cents, so differences of money are exact.
func centsOf(d float64) int64 { return int64(math.Round(d * 100)) }
