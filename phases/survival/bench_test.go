package survival

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// benchFrame draws a Telco-sized design: n rows, p features of which the
// first half are 0/1 indicators, integer tenure 0-72 with ties.
func benchFrame(b *testing.B, n, p int) *dataset.Frame {
	rng := rand.New(rand.NewPCG(3, 4))
	x := mat.NewDense(n, p, nil)
	tenure, event := make([]float64, n), make([]float64, n)
	names := make([]string, p)
	for j := range names {
		names[j] = fmt.Sprintf("f%02d", j)
	}
	for i := 0; i < n; i++ {
		var eta float64
		for j := 0; j < p; j++ {
			v := rng.NormFloat64()
			if j < p/2 {
				v = float64(rng.IntN(2))
			}
			x.Set(i, j, v)
			eta += 0.1 * v * float64(j%3-1)
		}
		te := math.Ceil(rng.ExpFloat64() / (0.01 * math.Exp(eta)))
		tc := float64(rng.IntN(73))
		tenure[i] = math.Min(te, tc)
		if te <= tc {
			event[i] = 1
		}
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	return &dataset.Frame{IDs: ids, Event: event, Tenure: tenure, Names: names, X: x}
}

func BenchmarkFitCox5000x43(b *testing.B) {
	f := benchFrame(b, 5000, 43)
	ctx, cfg, log := context.Background(), DefaultConfig(), discardLogger()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := FitCox(ctx, f, cfg, log); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCIndex5000(b *testing.B) {
	f := benchFrame(b, 5000, 2)
	risk := mat.Col(nil, 1, f.X)
	b.ResetTimer()
	for b.Loop() {
		CIndex(f.Tenure, f.Event, risk)
	}
}

func BenchmarkBootstrapCIndex1000(b *testing.B) {
	f := benchFrame(b, 1000, 2)
	risk := mat.Col(nil, 1, f.X)
	b.ResetTimer()
	for b.Loop() {
		if _, _, _, err := BootstrapCIndex(context.Background(), f.Tenure, f.Event, risk, 200, 42); err != nil {
			b.Fatal(err)
		}
	}
}
