package optimize

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// Planner solves optimisation requests for one model of a scores table
// at any budget. NewPlanner prices and ranks the customers once and fills
// the exact solver's table for the total cost of the eligible customers,
// which covers every budget. A request then costs one backtrack through
// that table, one greedy pass and the report, instead of a full solve.
//
// Reports from a Planner are the same as those of Optimize on the same
// scores, request and Config, apart from GeneratedAt and the solve times.
// A Planner is safe for concurrent use.
type Planner struct {
	model string
	cfg   Config

	all      []Customer // every customer of the split, in table order
	eligible []Customer
	ex       Exclusions

	// prob, prefixCost and prefixNet serve the greedy solver. They are nil
	// when no customer is eligible.
	prob       *problem
	prefixCost []int64
	prefixNet  []int64

	// table is the filled dynamic program, or nil when it would exceed
	// Config.MaxCells or the Planner was built for one request. Each
	// budget is then solved on its own, as SolveExact does.
	table *knapsack

	// files holds the selection-independent parts of the output files,
	// shared by every report of the Planner.
	files *renderCache
}

// NewPlanner prices the customers of s with the named model and prepares
// the solvers for any budget. The dynamic-programming table takes
// O(eligible customers × total eligible cost in grid units) time and
// memory, bounded by Config.MaxCells. Above that bound each request is
// solved on its own, by the dynamic program for its budget or by branch
// and bound.
//
// Errors: an invalid Config wraps ErrInvalidConfig, an unknown model
// ErrUnknownModel, and an invalid score names the customer. A split with
// no eligible customer is not an error here: Optimize returns
// ErrNoEligible for it. A done ctx returns ctx.Err().
func NewPlanner(ctx context.Context, s *dataset.Scores, model string, cfg Config) (*Planner, error) {
	return newPlanner(ctx, s, model, cfg, true)
}

// newPlanner builds a Planner. With fullTable false it leaves the table
// out, for a single request, where a table sized for the request's own
// budget is cheaper.
func newPlanner(ctx context.Context, s *dataset.Scores, model string, cfg Config, fullTable bool) (*Planner, error) {
	all, ex, err := priceCustomers(s, model, cfg)
	if err != nil {
		return nil, fmt.Errorf("optimize: %w", err)
	}
	p := &Planner{model: model, cfg: cfg, all: all, eligible: eligibleOnly(all), ex: ex, files: &renderCache{}}
	if len(p.eligible) == 0 {
		return p, nil
	}
	if p.prob, err = newProblem(p.eligible, cfg); err != nil {
		return nil, fmt.Errorf("optimize: %w", err)
	}
	p.prefixCost, p.prefixNet = p.prob.prefixSums()
	if !fullTable {
		return p, nil
	}
	// A budget of MaxBudgetCents caps the table at the total cost.
	table := newKnapsack(p.prob, MaxBudgetCents)
	if table.cells() > cfg.MaxCells {
		return p, nil
	}
	if err := table.run(ctx); err != nil {
		return nil, err
	}
	p.table = table
	return p, nil
}

// Model returns the model whose uplift the Planner uses.
func (p *Planner) Model() string { return p.model }

// Exclusions returns the counts of the split's customers by status.
func (p *Planner) Exclusions() Exclusions { return p.ex }

// HasTable reports whether the Planner solves every budget from one
// dynamic-programming table. It is false when the table would exceed
// Config.MaxCells or no customer is eligible.
func (p *Planner) HasTable() bool { return p.table != nil }

// Optimize solves one request with both solvers and reports the requested
// solver's selection, as the package-level Optimize does. The request's
// model must be the Planner's. The errors are those of the package-level
// Optimize.
func (p *Planner) Optimize(ctx context.Context, req Request, log *slog.Logger) (*Report, error) {
	budget, req, err := checkRequest(req)
	if err != nil {
		return nil, err
	}
	if req.Model != p.model {
		return nil, fmt.Errorf("optimize: %w %q: this planner prices model %q", ErrUnknownModel, req.Model, p.model)
	}
	return p.optimize(ctx, req, budget, log)
}

// checkRequest validates the budget, solver and split of a request and
// fills in the default solver. It returns the budget in cents.
func checkRequest(req Request) (int64, Request, error) {
	budget, err := BudgetCents(req.Budget)
	if err != nil {
		return 0, req, fmt.Errorf("optimize: %w", err)
	}
	if req.Solver == "" {
		req.Solver = RequestSolverExact
	}
	if req.Solver != RequestSolverExact && req.Solver != RequestSolverGreedy {
		return 0, req, fmt.Errorf("optimize: %w %q: valid solvers are %s, %s", ErrUnknownSolver, req.Solver, RequestSolverExact, RequestSolverGreedy)
	}
	if !slices.Contains(dataset.Splits, req.Split) {
		return 0, req, fmt.Errorf("optimize: %w %q: valid splits are %s", ErrUnknownSplit, req.Split, strings.Join(dataset.Splits, ", "))
	}
	return budget, req, nil
}

// optimize runs both solvers at budget cents on a checked request.
func (p *Planner) optimize(ctx context.Context, req Request, budget int64, log *slog.Logger) (*Report, error) {
	log = log.With("split", req.Split, "model", req.Model)
	ex := p.ex
	log.Debug("customers priced", "customers", ex.Total, "eligible", ex.Eligible,
		"low_uplift", ex.LowUplift, "sleeping_dogs", ex.SleepingDogs, "churned", ex.Churned, "not_eligible", ex.NotEligible)
	if len(p.eligible) == 0 {
		return nil, fmt.Errorf("optimize: %w: all %d customers of split %s are excluded (%d low uplift, %d churned, %d with value not above cost)",
			ErrNoEligible, ex.Total, req.Split, ex.LowUplift, ex.Churned, ex.NotEligible)
	}

	if err := ctx.Err(); err != nil {
		return nil, err
	}
	greedy, err := p.solveGreedy(budget)
	if err != nil {
		return nil, fmt.Errorf("optimize: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	exact, err := p.solveExact(ctx, budget)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("optimize: %w", err)
	}
	if !exact.Optimal {
		log.Warn("exact solver stopped at time limit", "time_limit", p.cfg.TimeLimit, "gap", exact.Gap, "bound", exact.Bound)
	}

	chosen := exact
	if req.Solver == RequestSolverGreedy {
		chosen = greedy
	}
	r := newReport(req, p.cfg, p.all, p.eligible, ex, chosen)
	r.files = p.files
	r.Comparison = compare(greedy, exact)
	log.Info("campaign optimised", "solver", chosen.Solver, "optimal", chosen.Optimal,
		"selected", r.Metrics.CustomersSelected, "net_value", r.Metrics.NetValue,
		"greedy_net_value", r.Comparison.Greedy.NetValue, "exact_net_value", r.Comparison.Exact.NetValue)
	return r, nil
}

// solveGreedy is SolveGreedy on the Planner's eligible customers, reusing
// their ranking and prefix sums.
func (p *Planner) solveGreedy(budget int64) (*Solution, error) {
	start := time.Now()
	if e := p.prob.checkBudget(budget); e != nil {
		return nil, e
	}
	return greedySolution(p.prob, p.prefixCost, p.prefixNet, budget, start), nil
}

// solveExact is SolveExact on the Planner's eligible customers. With a
// table it backtracks from the table, which gives the selection that a
// table sized for this budget alone would give: entry j of the table only
// depends on entries at or below j. Duration is then the time of the
// backtrack alone, because the table was filled before the request.
func (p *Planner) solveExact(ctx context.Context, budget int64) (*Solution, error) {
	if p.table == nil {
		return solveExact(ctx, p.eligible, budget, p.cfg)
	}
	start := time.Now()
	if e := p.prob.checkBudget(budget); e != nil {
		return nil, e
	}
	sol := p.prob.solution(p.table.backtrack(budget), budget, SolverDP)
	if got := p.table.value(budget); sol.NetCents != got {
		panic(fmt.Sprintf("optimize: backtracked net %d cents differs from table value %d", sol.NetCents, got))
	}
	sol.setBound(sol.NetCents)
	sol.Duration = time.Since(start)
	return sol, nil
}
