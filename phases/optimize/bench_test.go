package optimize

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchBudget is $2,500, the reference request budget. It binds for both
// sizes: 1,000 synthetic customers cost about $11,000 in total.
const benchBudget = 250_000

func BenchmarkGreedy(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		customers := syntheticCustomers(rand.New(rand.NewPCG(11, uint64(n))), n, false)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := SolveGreedy(customers, benchBudget, DefaultConfig()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkExact(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		customers := syntheticCustomers(rand.New(rand.NewPCG(11, uint64(n))), n, false)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for b.Loop() {
				sol, err := SolveExact(customers, benchBudget, DefaultConfig())
				if err != nil {
					b.Fatal(err)
				}
				if sol.Solver != SolverDP {
					b.Fatalf("solver %s, want %s", sol.Solver, SolverDP)
				}
			}
		})
	}
}

// BenchmarkExactSweep solves 24 budgets from $200 to $5,000 in one table.
func BenchmarkExactSweep(b *testing.B) {
	budgets := make([]int64, 24)
	for k := range budgets {
		budgets[k] = 20_000 + int64(k)*(500_000-20_000)/23
	}
	for _, n := range []int{1000, 5000} {
		customers := syntheticCustomers(rand.New(rand.NewPCG(11, uint64(n))), n, false)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := SolveExactSweep(customers, budgets, DefaultConfig()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkExactOffGrid uses costs of 1037, 999 and 1501 cents (gcd 1).
// The tables for both sizes exceed the default MaxCells, so both cases
// measure branch and bound.
func BenchmarkExactOffGrid(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		customers := syntheticCustomers(rand.New(rand.NewPCG(11, uint64(n))), n, true)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			var sol *Solution
			for b.Loop() {
				var err error
				if sol, err = SolveExact(customers, benchBudget, DefaultConfig()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(sol.Gap, "gap")
			b.Logf("solver %s optimal %v gap %.2g", sol.Solver, sol.Optimal, sol.Gap)
		})
	}
}
