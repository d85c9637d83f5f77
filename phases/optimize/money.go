package optimize

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
)

// BudgetCents converts a budget in dollars to cents, rounding to the
// nearest cent. A budget that is not finite, rounds to less than one cent
// or exceeds MaxBudgetCents is an error wrapping ErrInvalidBudget.
func BudgetCents(dollars float64) (int64, error) {
	if math.IsNaN(dollars) || math.IsInf(dollars, 0) || dollars <= 0 {
		return 0, fmt.Errorf("%w: %v dollars, expected a finite amount above zero", ErrInvalidBudget, dollars)
	}
	cents := math.Round(dollars * 100)
	if cents < 1 {
		return 0, fmt.Errorf("%w: %v dollars rounds to 0 cents, expected at least $0.01", ErrInvalidBudget, dollars)
	}
	if cents > MaxBudgetCents {
		return 0, fmt.Errorf("%w: %v dollars exceeds the maximum of %s", ErrInvalidBudget, dollars, formatCents(MaxBudgetCents))
	}
	return int64(cents), nil
}

// dollars converts cents to dollars. The result is the float64 nearest to
// the exact amount, so it prints with at most two decimals.
func dollars(cents int64) float64 { return float64(cents) / 100 }

// formatCents formats an amount of cents as dollars with thousands
// separators, for example "-$1,234.05".
func formatCents(cents int64) string {
	sign := ""
	u := uint64(cents)
	if cents < 0 {
		sign = "-"
		u = -u
	}
	whole := strconv.FormatUint(u/100, 10)
	var grouped []byte
	for i := range len(whole) {
		if i > 0 && (len(whole)-i)%3 == 0 {
			grouped = append(grouped, ',')
		}
		grouped = append(grouped, whole[i])
	}
	return fmt.Sprintf("%s$%s.%02d", sign, grouped, u%100)
}

// compareRatios returns the sign of a/b - c/d for b, d > 0, computed
// exactly with 128-bit products so that ties are real ties.
func compareRatios(a, b, c, d int64) int {
	if b <= 0 || d <= 0 {
		panic("optimize: compareRatios needs positive denominators")
	}
	sa, sc := sign(a), sign(c)
	if sa != sc {
		if sa < sc {
			return -1
		}
		return 1
	}
	if sa == 0 {
		return 0
	}
	// Both numerators have the same sign: compare |a|·d with |c|·b.
	hi1, lo1 := bits.Mul64(absUint(a), uint64(d))
	hi2, lo2 := bits.Mul64(absUint(c), uint64(b))
	m := 0
	switch {
	case hi1 < hi2 || hi1 == hi2 && lo1 < lo2:
		m = -1
	case hi1 > hi2 || lo1 > lo2:
		m = 1
	}
	return m * sa
}

func sign(x int64) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}

func absUint(x int64) uint64 {
	if x < 0 {
		return uint64(-x) // correct for math.MinInt64 too: the bits are 2^63
	}
	return uint64(x)
}

// gcd returns the greatest common divisor of two positive integers.
func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
