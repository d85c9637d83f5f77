package gbt

import (
	"testing"
)

func BenchmarkHistTmp(b *testing.B) {
	x, _ := telcoLike(4930, 1)
	m := fitBins(x, 255, 1)
	d := binData(x, m, 1)
	grad := make([]gradPair, d.n)
	for i := range grad {
		grad[i] = gradPair{0.1 * float64(i%7), 0.2}
	}
	feats := make([]int, 44)
	for i := range feats {
		feats[i] = i
	}
	rows := make([]int32, 0, d.n)
	for i := 0; i < d.n; i += 2 {
		rows = append(rows, int32(i))
	}
	hist := make([]histBin, d.slots())
	for _, th := range []int{1, 2} {
		b.Run("all"+string(rune('0'+th)), func(b *testing.B) {
			for b.Loop() {
				buildHist(d, grad, nil, feats, hist, th)
			}
		})
		b.Run("half"+string(rune('0'+th)), func(b *testing.B) {
			for b.Loop() {
				buildHist(d, grad, rows, feats, hist, th)
			}
		})
	}
}
