package optimize

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Defaults of Config.
const (
	// Treatment cost per customer in cents, by tenure segment.
	CostNewDefault  = 1500
	CostMidDefault  = 1000
	CostLongDefault = 800

	MinUpliftDefault     = 0.005
	MinPerSegmentDefault = 1

	// MaxCellsDefault keeps the dynamic-programming tables at or below
	// about 38 MB (see Config.MaxCells for how cells are counted).
	MaxCellsDefault = 2e8

	// TimeLimitDefault bounds one branch-and-bound solve. It leaves room for
	// the greedy solve and the output files within a 30 s request limit.
	TimeLimitDefault = 10 * time.Second

	// The default budget sweep has SweepCountDefault budgets spread evenly
	// from SweepFromDefault to SweepToDefault cents ($200 to $5,000).
	SweepFromDefault  = 20_000
	SweepToDefault    = 500_000
	SweepCountDefault = 24

	// MaxSweepBudgets caps the budgets of one sweep. Each budget costs a
	// backtrack through the table and a greedy solve.
	MaxSweepBudgets = 1000
)

// Limits on money amounts. They keep every sum and product of cents inside
// int64 for up to a million customers.
const (
	// MaxCostCents is the largest treatment cost per customer ($10 million).
	MaxCostCents = 1_000_000_000
	// MaxValueCents is the largest incremental value of one customer
	// ($10 billion).
	MaxValueCents = 1_000_000_000_000
	// MaxBudgetCents is the largest budget ($10 trillion).
	MaxBudgetCents = 1_000_000_000_000_000
)

// Config contains the settings of Phase 4.
type Config struct {
	// CostNewCents, CostMidCents and CostLongCents are the treatment costs
	// in cents of the new (tenure < 12 months), mid (12 to 35 months) and
	// long (36 months or more) segments. Defaults 1500, 1000 and 800.
	CostNewCents  int64
	CostMidCents  int64
	CostLongCents int64

	// MinUplift excludes customers whose clipped uplift is below it,
	// which includes every sleeping dog (uplift < 0). Default 0.005.
	MinUplift float64

	// IncludeChurned lets customers who already churned (E = 1) be
	// selected. Default false: they cannot be retained and are excluded.
	IncludeChurned bool

	// MinPerSegment is k, the minimum number of customers selected in each
	// segment that has eligible customers. A segment with fewer than k
	// eligible customers must have all of them selected. Default 1.
	MinPerSegment int

	// MaxCells limits the size of the exact dynamic program. Above it the
	// exact solver uses branch and bound. Cells are counted as
	// Σ over segments of items × (budget units + 1) × (k + 1) choice bits,
	// plus 64 cells per int64 value entry, so one cell is one bit. With
	// the bits that record where a take came from, memory is at most
	// 1.5 × MaxCells bits. Default 2e8 cells, about 38 MB and 0.3 s of
	// work for 5,000 customers on one core of the 2-core AMD EPYC
	// development VM.
	MaxCells float64

	// TimeLimit bounds each branch-and-bound solve. When it runs out, the
	// best selection found is returned with Optimal false and the gap to the
	// best bound. Default 10 s.
	TimeLimit time.Duration

	// SweepBudgetsCents are the budgets of a budget sweep, in cents. Nil
	// means DefaultSweepBudgets: 24 budgets from $200 to $5,000.
	SweepBudgetsCents []int64
}

// DefaultConfig returns the default settings.
func DefaultConfig() Config {
	return Config{
		CostNewCents:  CostNewDefault,
		CostMidCents:  CostMidDefault,
		CostLongCents: CostLongDefault,
		MinUplift:     MinUpliftDefault,
		MinPerSegment: MinPerSegmentDefault,
		MaxCells:      MaxCellsDefault,
		TimeLimit:     TimeLimitDefault,
	}
}

// Validate returns an error wrapping ErrInvalidConfig that names the first
// invalid setting.
func (c Config) Validate() error {
	for _, s := range Segments {
		cost := c.Cost(s)
		if cost <= 0 || cost > MaxCostCents {
			return fmt.Errorf("%w: %s segment cost %d cents is outside 1 to %d", ErrInvalidConfig, s, cost, MaxCostCents)
		}
	}
	if math.IsNaN(c.MinUplift) || math.IsInf(c.MinUplift, 0) {
		return fmt.Errorf("%w: min uplift %v is not finite", ErrInvalidConfig, c.MinUplift)
	}
	if c.MinPerSegment < 0 {
		return fmt.Errorf("%w: min per segment %d is negative", ErrInvalidConfig, c.MinPerSegment)
	}
	if !(c.MaxCells > 0) || math.IsInf(c.MaxCells, 0) {
		return fmt.Errorf("%w: max cells %v must be finite and positive", ErrInvalidConfig, c.MaxCells)
	}
	if c.TimeLimit <= 0 {
		return fmt.Errorf("%w: time limit %v must be positive", ErrInvalidConfig, c.TimeLimit)
	}
	if len(c.SweepBudgetsCents) > MaxSweepBudgets {
		return fmt.Errorf("%w: %d sweep budgets, at most %d are allowed", ErrInvalidConfig, len(c.SweepBudgetsCents), MaxSweepBudgets)
	}
	for _, b := range c.SweepBudgetsCents {
		if b <= 0 || b > MaxBudgetCents {
			return fmt.Errorf("%w: sweep budget %d cents is outside 1 to %d", ErrInvalidConfig, b, int64(MaxBudgetCents))
		}
	}
	return nil
}

// SweepBudgets returns the budgets of a sweep in cents: the configured
// ones, or DefaultSweepBudgets when none are set.
func (c Config) SweepBudgets() []int64 {
	if len(c.SweepBudgetsCents) > 0 {
		return slices.Clone(c.SweepBudgetsCents)
	}
	return DefaultSweepBudgets()
}

// DefaultSweepBudgets returns SweepCountDefault budgets in cents spread
// evenly from $200 to $5,000, each rounded to whole dollars.
func DefaultSweepBudgets() []int64 {
	out := make([]int64, SweepCountDefault)
	step := float64(SweepToDefault-SweepFromDefault) / float64(SweepCountDefault-1)
	for k := range out {
		dollars := math.Round((SweepFromDefault + float64(k)*step) / 100)
		out[k] = int64(dollars) * 100
	}
	return out
}

// Cost returns the treatment cost in cents of segment s.
func (c Config) Cost(s Segment) int64 {
	switch s {
	case SegmentNew:
		return c.CostNewCents
	case SegmentMid:
		return c.CostMidCents
	case SegmentLong:
		return c.CostLongCents
	}
	panic(fmt.Sprintf("optimize: invalid segment %d", int(s)))
}
