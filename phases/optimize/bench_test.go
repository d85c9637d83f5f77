package optimize

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchBudget is $2,500, the reference request budget. It binds for every
// size: 1,000 synthetic customers cost about $11,000 in total.
const benchBudget = 250_000

// benchSizes are the customer counts of the greedy and exact benchmarks.
var benchSizes = []int{1000, 5000, 100_000, 1_000_000}

// benchCustomers returns the synthetic customers of one size, drawn once
// per size with a fixed seed.
var benchCustomers = func() func(n int) []Customer {
	cache := map[int][]Customer{}
	return func(n int) []Customer {
		if c, ok := cache[n]; ok {
			return c
		}
		c := syntheticCustomers(rand.New(rand.NewPCG(11, uint64(n))), n, false)
		cache[n] = c
		return c
	}
}()

func BenchmarkGreedy(b *testing.B) {
	for _, n := range benchSizes {
		customers := benchCustomers(n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := SolveGreedy(customers, benchBudget, DefaultConfig()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkExact solves $2,500 exactly. Up to 5,000 customers the dynamic
// program fits the default MaxCells. At 100,000 and 1,000,000 customers
// the table would need 5e8 and 5e9 cells, so the memory guard switches to
// branch and bound, which the benchmark checks.
func BenchmarkExact(b *testing.B) {
	for _, n := range benchSizes {
		customers := benchCustomers(n)
		want := SolverDP
		if n >= 100_000 {
			want = SolverBranchAndBound
		}
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var sol *Solution
			for b.Loop() {
				var err error
				if sol, err = SolveExact(customers, benchBudget, DefaultConfig()); err != nil {
					b.Fatal(err)
				}
			}
			if sol.Solver != want || !sol.Optimal {
				b.Fatalf("solver %s optimal %v, want %s with a proven optimum", sol.Solver, sol.Optimal, want)
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
