package gbt

import (
	"context"
	"testing"
)

// telcoBenchParams are the settings of the speed target: 300 trees of
// depth 4.
func telcoBenchParams(loss string) Params {
	p := DefaultParams()
	p.Loss = loss
	p.Trees = 300
	p.MaxDepth = 4
	p.LearningRate = 0.05
	return p
}

// BenchmarkFitTelcoSize fits 300 depth-4 trees on 4,930 x 44 synthetic
// rows, the size of the Telco training split.
func BenchmarkFitTelcoSize(b *testing.B) {
	x, y := telcoLike(4930, 1)
	for _, loss := range []string{LossLogistic, LossSquared} {
		b.Run(loss, func(b *testing.B) {
			p := telcoBenchParams(loss)
			for b.Loop() {
				if _, err := Fit(context.Background(), x, y, p, FitOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFit100k fits the same ensemble on 100,000 x 44 rows.
func BenchmarkFit100k(b *testing.B) {
	x, y := telcoLike(100_000, 2)
	p := telcoBenchParams(LossLogistic)
	for b.Loop() {
		if _, err := Fit(context.Background(), x, y, p, FitOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPredict scores 4,930 rows with a 300-tree depth-4 model.
func BenchmarkPredict(b *testing.B) {
	x, y := telcoLike(4930, 1)
	m, err := Fit(context.Background(), x, y, telcoBenchParams(LossLogistic), FitOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		m.Predict(x)
	}
}
