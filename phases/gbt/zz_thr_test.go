package gbt

import (
	"context"
	"testing"
)

func BenchmarkThreadsTmp(b *testing.B) {
	x, y := telcoLike(4930, 1)
	for _, th := range []int{1, 2} {
		b.Run(string(rune('0'+th)), func(b *testing.B) {
			p := telcoBenchParams(LossLogistic)
			p.Threads = th
			for b.Loop() {
				Fit(context.Background(), x, y, p, FitOptions{})
			}
		})
	}
}
