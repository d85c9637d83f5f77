package gbt

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// newRand returns a seeded generator for test data.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }

// uniformX returns n rows of p features drawn from U(lo, hi).
func uniformX(rng *rand.Rand, n, p int, lo, hi float64) *mat.Dense {
	x := mat.NewDense(n, p, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < p; j++ {
			x.Set(i, j, lo+(hi-lo)*rng.Float64())
		}
	}
	return x
}

// telcoLike returns n rows shaped like the encoded Telco table: 40 binary
// columns (one-hot groups and yes/no flags) followed by tenure in months,
// monthly charges in dollars, total charges and a service count. y is a
// churn label drawn from a logistic model of a few of the columns.
func telcoLike(n int, seed uint64) (*mat.Dense, []float64) {
	const binary, p = 40, 44
	rng := newRand(seed)
	x := mat.NewDense(n, p, nil)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		row := x.RawRowView(i)
		// Columns 0-2: contract one-hot, 3-5: internet one-hot, 6-9:
		// payment method one-hot, the rest independent flags.
		row[rng.IntN(3)] = 1
		row[3+rng.IntN(3)] = 1
		row[6+rng.IntN(4)] = 1
		for j := 10; j < binary; j++ {
			if rng.Float64() < 0.1+0.8*float64(j-10)/float64(binary-10) {
				row[j] = 1
			}
		}
		tenure := float64(rng.IntN(73))
		monthly := 18 + 100*rng.Float64()
		row[40] = tenure
		row[41] = monthly
		row[42] = tenure * monthly * (0.9 + 0.2*rng.Float64())
		row[43] = float64(rng.IntN(9))

		logit := -1 + 1.5*row[0] - 1.2*row[2] + 0.8*row[4] - 0.04*tenure + 0.01*monthly + 0.5*row[12]*row[0]
		if rng.Float64() < sigmoid(logit) {
			y[i] = 1
		}
	}
	return x, y
}

// rSquared returns 1 - SSE/SST of predictions against targets.
func rSquared(y, pred []float64) float64 {
	var mean float64
	for _, v := range y {
		mean += v
	}
	mean /= float64(len(y))
	var sse, sst float64
	for i, v := range y {
		sse += (v - pred[i]) * (v - pred[i])
		sst += (v - mean) * (v - mean)
	}
	return 1 - sse/sst
}

// auroc returns the area under the ROC curve of scores for 0/1 labels, as
// the Mann-Whitney statistic with tied scores counted as one half.
func auroc(y, score []float64) float64 {
	idx := make([]int, len(y))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case score[a] < score[b]:
			return -1
		case score[a] > score[b]:
			return 1
		}
		return 0
	})
	// Sum the average ranks of the positives.
	var rankSum float64
	var pos int
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && score[idx[j]] == score[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks i+1..j
		for k := i; k < j; k++ {
			if y[idx[k]] == 1 {
				rankSum += avg
				pos++
			}
		}
		i = j
	}
	neg := len(y) - pos
	return (rankSum - float64(pos*(pos+1))/2) / float64(pos*neg)
}

// fitOrFatal fits a model and stops the test on error.
func fitOrFatal(t *testing.T, x *mat.Dense, y []float64, p Params, opt FitOptions) *Model {
	t.Helper()
	m, err := Fit(t.Context(), x, y, p, opt)
	if err != nil {
		t.Fatalf("Fit: %v", err)
	}
	return m
}

// firstDifference returns the first index where a and b differ bit for
// bit, 0 when their lengths differ, or -1 when they are identical.
func firstDifference(a, b []float64) int {
	if len(a) != len(b) {
		return 0
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return i
		}
	}
	return -1
}
