package uplift

import (
	"context"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestPAVHandValues checks hand-pooled fits. R 4.2.2 gives the first case
// too: isoreg(1:6, c(1, 3, 2, 4, 3, 5))$yf.
func TestPAVHandValues(t *testing.T) {
	tests := []struct {
		name string
		y, w []float64
		want []float64
	}{
		// 3 > 2 pools to 2.5, then 4 > 3 pools to 3.5.
		{"TwoViolations", []float64{1, 3, 2, 4, 3, 5}, []float64{1, 1, 1, 1, 1, 1}, []float64{1, 2.5, 2.5, 3.5, 3.5, 5}},
		// Weighted pool: (3 x 1 + 1 x 3) / 4.
		{"Weighted", []float64{3, 1}, []float64{1, 3}, []float64{1.5, 1.5}},
		// 3 > 2 pools to 2.5, which then exceeds 1 and pools all to 2.
		{"Cascade", []float64{3, 2, 1}, []float64{1, 1, 1}, []float64{2, 2, 2}},
		{"Sorted", []float64{0, 1, 2}, []float64{1, 1, 1}, []float64{0, 1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := pav(tt.y, tt.w)
			for i := range tt.want {
				if math.Abs(got[i]-tt.want[i]) > 1e-12 {
					t.Fatalf("pav = %v, expected %v", got, tt.want)
				}
			}
		})
	}
}

func TestIsotonicPredict(t *testing.T) {
	// x 1..4 with y 0, 1, 0, 1 fits 0, 0.5, 0.5, 1. The map interpolates
	// linearly between knots and is constant outside them.
	m := fitIsotonic([]float64{3, 1, 4, 2}, []float64{0, 0, 1, 1})
	for _, tt := range []struct{ x, want float64 }{
		{0, 0}, {1, 0}, {1.5, 0.25}, {2, 0.5}, {2.5, 0.5}, {3.5, 0.75}, {4, 1}, {9, 1},
	} {
		if got := m.predict(tt.x); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("predict(%v) = %v, expected %v", tt.x, got, tt.want)
		}
	}

	// Tied x are pooled before the fit: two rows at x = 1 average to 0.5.
	tied := fitIsotonic([]float64{1, 1, 2}, []float64{0, 1, 1})
	if got := tied.predict(1); got != 0.5 {
		t.Errorf("tied predict(1) = %v, expected 0.5", got)
	}
}

func TestIsotonicMonotone(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	n := 1000
	x, y := make([]float64, n), make([]float64, n)
	for i := range n {
		x[i] = rng.Float64()
		if rng.Float64() < x[i] {
			y[i] = 1
		}
	}
	m := fitIsotonic(x, y)
	prev := math.Inf(-1)
	for k := 0; k <= 200; k++ {
		v := m.predict(-0.1 + 1.2*float64(k)/200)
		if v < prev {
			t.Fatalf("isotonic map decreases at grid point %d: %v after %v", k, v, prev)
		}
		if v < 0 || v > 1 {
			t.Fatalf("isotonic map value %v outside [0, 1]", v)
		}
		prev = v
	}
	// The map should follow P(y=1 | x) = x roughly.
	if got := m.predict(0.5); math.Abs(got-0.5) > 0.15 {
		t.Errorf("predict(0.5) = %v, expected near 0.5", got)
	}
}

// TestPropensityClipped uses a treatment that a feature nearly separates, so
// the isotonic maps reach exact 0 and 1 and only the clip keeps the
// propensities inside [0.05, 0.95].
func TestPropensityClipped(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	n := 1500
	x := mat.NewDense(n, 2, nil)
	a := make([]float64, n)
	for i := range n {
		z := rng.NormFloat64()
		x.Set(i, 0, z)
		x.Set(i, 1, rng.NormFloat64())
		if z+0.1*rng.NormFloat64() > 0 {
			a[i] = 1
		}
	}
	cfg := DefaultConfig()
	predict, info, err := fitPropensity(context.Background(), x, a, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e := predict(x)
	if lo := slices.Min(e); lo != 0.05 {
		t.Errorf("minimum propensity %v, expected the clip bound 0.05", lo)
	}
	if hi := slices.Max(e); hi != 0.95 {
		t.Errorf("maximum propensity %v, expected the clip bound 0.95", hi)
	}
	if len(info.CVAUROC) != len(cfg.PropensityCs) {
		t.Fatalf("%d AUROC values for %d candidates", len(info.CVAUROC), len(cfg.PropensityCs))
	}
	for k, auc := range info.CVAUROC {
		if auc == nil || *auc < 0.95 {
			t.Errorf("C=%v: cross-validated AUROC %v, expected >= 0.95", cfg.PropensityCs[k], deref(auc))
		}
	}
}

// TestPropensityCalibrated draws treatment from a known logistic model and
// compares the calibrated estimate with the true probability.
func TestPropensityCalibrated(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	n := 4000
	x := mat.NewDense(n, 3, nil)
	a, truth := make([]float64, n), make([]float64, n)
	for i := range n {
		z := rng.NormFloat64()
		x.Set(i, 0, z)
		x.Set(i, 1, rng.NormFloat64())
		x.Set(i, 2, float64(rng.IntN(2)))
		truth[i] = sigmoid(-0.6 + 0.8*z + 0.5*x.At(i, 2))
		if rng.Float64() < truth[i] {
			a[i] = 1
		}
	}
	predict, _, err := fitPropensity(context.Background(), x, a, DefaultConfig(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var mae float64
	for i, e := range predict(x) {
		if e < 0.05 || e > 0.95 {
			t.Fatalf("propensity %v of row %d outside [0.05, 0.95]", e, i)
		}
		mae += math.Abs(e - truth[i])
	}
	if mae /= float64(n); mae > 0.05 {
		t.Errorf("mean absolute error %.4f against the true propensity, expected <= 0.05", mae)
	}
}

func TestAUROCTies(t *testing.T) {
	// Positives score 0.8 and 0.5, negatives 0.5 and 0.2: of 4 pairs, 3 are
	// ordered and 1 tied, so AUROC = (3 + 0.5) / 4.
	got := auroc([]float64{0.8, 0.5, 0.5, 0.2}, []float64{1, 1, 0, 0})
	if got != 0.875 {
		t.Errorf("AUROC = %v, expected 0.875", got)
	}
	if !math.IsNaN(auroc([]float64{1, 2}, []float64{1, 1})) {
		t.Errorf("AUROC defined with one class")
	}
}
