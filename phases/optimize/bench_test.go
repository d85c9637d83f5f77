package optimize

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ecomopti/ecomopti/phases/dataset"
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

// benchCallBudgets are 200 budgets from $100 to $20,000 in whole dollars,
// the default budgets of the ecomoload load test.
func benchCallBudgets() []float64 {
	out := make([]float64, 200)
	for k := range out {
		out[k] = float64(int(100 + (20_000-100)*float64(k)/199 + 0.5))
	}
	return out
}

// BenchmarkOptimizeCall measures one optimize request on a split of 1,057
// synthetic customers, the size of the Telco test split: Optimize, which
// solves from scratch, and Planner.Optimize, which reuses one table for
// every budget. Budgets cycle through benchCallBudgets.
func BenchmarkOptimizeCall(b *testing.B) {
	s := syntheticScores(21, 1057)
	budgets := benchCallBudgets()
	req := Request{Split: dataset.Test, Model: dataset.ModelEnsemble}
	b.Run("optimize", func(b *testing.B) {
		b.ReportAllocs()
		k := 0
		for b.Loop() {
			req.Budget = budgets[k%len(budgets)]
			k++
			if _, err := Optimize(context.Background(), s, req, DefaultConfig(), discard); err != nil {
				b.Fatal(err)
			}
		}
	})
	p, err := NewPlanner(context.Background(), s, req.Model, DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("planner", func(b *testing.B) {
		b.ReportAllocs()
		k := 0
		for b.Loop() {
			req.Budget = budgets[k%len(budgets)]
			k++
			if _, err := p.Optimize(context.Background(), req, discard); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("new_planner", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := NewPlanner(context.Background(), s, req.Model, DefaultConfig()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkWriteFiles writes the four files of one request into a
// temporary folder, with and without fsync. Each iteration uses a new
// stem, as calls with distinct budgets do.
func BenchmarkWriteFiles(b *testing.B) {
	s := syntheticScores(21, 1057)
	p, err := NewPlanner(context.Background(), s, dataset.ModelEnsemble, DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	r, err := p.Optimize(context.Background(), Request{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: 2500}, discard)
	if err != nil {
		b.Fatal(err)
	}
	for _, opts := range []WriteOptions{{}, {NoSync: true}} {
		b.Run(fmt.Sprintf("nosync=%v", opts.NoSync), func(b *testing.B) {
			dir := b.TempDir()
			k := 0
			for b.Loop() {
				k++
				if _, err := r.WriteFilesWith(context.Background(), dir, fmt.Sprintf("call%d", k), opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
