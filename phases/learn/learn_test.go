package learn

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestRidgeRecoversLine fits y = 3 + 2 x1 - x2 without noise; a tiny
// penalty must give back the coefficients through the predictions.
func TestRidgeRecoversLine(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 200
	x := mat.NewDense(n, 3, nil)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		x1, x2 := rng.NormFloat64()*5, rng.Float64()*10
		x.Set(i, 0, x1)
		x.Set(i, 1, x2)
		x.Set(i, 2, 7) // constant column must not break the fit
		y[i] = 3 + 2*x1 - x2
	}
	pred, err := Ridge(1e-8)(context.Background(), x, y)
	if err != nil {
		t.Fatal(err)
	}
	probe := mat.NewDense(2, 3, []float64{0, 0, 7, 1, 1, 7})
	got := pred(probe)
	for i, want := range []float64{3, 4} {
		if math.Abs(got[i]-want) > 1e-5 {
			t.Errorf("prediction %d = %v, want %v", i, got[i], want)
		}
	}
}

// TestRidgeCollinear checks that duplicated columns still give a finite fit.
func TestRidgeCollinear(t *testing.T) {
	x := mat.NewDense(4, 2, []float64{1, 1, 0, 0, 1, 1, 0, 0})
	y := []float64{2, 0, 2, 0}
	pred, err := Ridge(0.1)(context.Background(), x, y)
	if err != nil {
		t.Fatal(err)
	}
	got := pred(x)
	if math.Abs(got[0]-got[2]) > 1e-12 || got[0] <= got[1] {
		t.Errorf("predictions %v do not separate the two groups", got)
	}
}

// TestLogisticRecoversSlope draws y from a known logistic model and checks
// the fitted probabilities against the true ones.
func TestLogisticRecoversSlope(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 5000
	x := mat.NewDense(n, 1, nil)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		v := rng.NormFloat64()
		x.Set(i, 0, v)
		if rng.Float64() < sigmoid(-0.5+1.5*v) {
			y[i] = 1
		}
	}
	pred, err := Logistic(100)(context.Background(), x, y)
	if err != nil {
		t.Fatal(err)
	}
	probe := mat.NewDense(3, 1, []float64{-1, 0, 1})
	got := pred(probe)
	for i, v := range []float64{-1, 0, 1} {
		want := sigmoid(-0.5 + 1.5*v)
		if math.Abs(got[i]-want) > 0.03 {
			t.Errorf("p(x=%v) = %.3f, want %.3f", v, got[i], want)
		}
	}
}

// TestLogisticSeparable checks that perfectly separable data stays finite
// because of the penalty.
func TestLogisticSeparable(t *testing.T) {
	x := mat.NewDense(4, 1, []float64{-2, -1, 1, 2})
	y := []float64{0, 0, 1, 1}
	pred, err := Logistic(1)(context.Background(), x, y)
	if err != nil {
		t.Fatal(err)
	}
	got := pred(x)
	if !(got[0] < 0.5 && got[3] > 0.5) {
		t.Errorf("probabilities %v do not follow the labels", got)
	}
}

func TestRejectsBadTargets(t *testing.T) {
	x := mat.NewDense(2, 1, []float64{0, 1})
	if _, err := Logistic(1)(context.Background(), x, []float64{0, 2}); err == nil {
		t.Error("logistic accepted target 2")
	}
	if _, err := Ridge(1)(context.Background(), x, []float64{0, math.NaN()}); err == nil {
		t.Error("ridge accepted a NaN target")
	}
	if _, err := Ridge(1)(context.Background(), x, []float64{0}); err == nil {
		t.Error("ridge accepted mismatched lengths")
	}
}
