package optimize

import "errors"

// ErrInvalidBudget is returned for a budget that is not a finite amount of
// at least one cent.
var ErrInvalidBudget = errors.New("invalid budget")

// ErrInfeasible is returned when no selection fits the budget and meets the
// segment minimums. The error value is an *InfeasibleError with the details.
var ErrInfeasible = errors.New("infeasible campaign")

// ErrNoEligible is returned when no customer of the split is worth treating.
var ErrNoEligible = errors.New("no eligible customers")

// ErrUnknownModel is returned for a model name without uplift scores.
var ErrUnknownModel = errors.New("unknown model")

// ErrUnknownSolver is returned for a solver name other than exact or greedy.
var ErrUnknownSolver = errors.New("unknown solver")

// ErrInvalidConfig is returned by Config.Validate.
var ErrInvalidConfig = errors.New("invalid optimize config")

// ErrInvalidCustomer is returned when a solver gets a customer that cannot
// be selected: a cost outside (0, MaxCostCents] or a value not above its cost.
var ErrInvalidCustomer = errors.New("invalid customer")

// ErrUnknownSplit is returned for a split name other than train, val or
// test.
var ErrUnknownSplit = errors.New("unknown split")
