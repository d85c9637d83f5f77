package uplift

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ecomopti/ecomopti/phases/learn"
	"gonum.org/v1/gonum/mat"
)

// upliftFunc predicts the uplift of each row of a feature matrix.
type upliftFunc func(x *mat.Dense) []float64

// fitSLearner fits one classifier f of retention on [X, A, A*X] and
// predicts u(x) = f(x, 1) - f(x, 0), a difference of probabilities.
func fitSLearner(ctx context.Context, classifier learn.FitFunc, x *mat.Dense, a, y []float64) (upliftFunc, error) {
	f, err := classifier(ctx, withInteractions(x, a), y)
	if err != nil {
		return nil, fmt.Errorf("fit s-learner: %w", err)
	}
	return func(x *mat.Dense) []float64 {
		n, _ := x.Dims()
		treated := f(withInteractions(x, constant(n, 1)))
		control := f(withInteractions(x, constant(n, 0)))
		for i := range treated {
			treated[i] -= control[i]
		}
		return treated
	}, nil
}

// fitDRLearner fits the doubly robust learner with cross-fitting. For each
// fold, a propensity model e(x) and an outcome model m(x, a) are fitted on
// the other folds, and the held-out rows get the pseudo-outcome
//
//	phi = m(x,1) - m(x,0) + A (Y - m(x,1)) / e - (1 - A) (Y - m(x,0)) / (1 - e)
//
// with e clipped to [clipLow, clipHigh], so phi is finite. The regressor
// then fits phi on X over all training rows and predicts the uplift.
func fitDRLearner(ctx context.Context, cfg Config, x *mat.Dense, a, y []float64) (upliftFunc, error) {
	n, _ := x.Dims()
	phi := make([]float64, n)
	rng := rand.New(rand.NewPCG(cfg.Seed, crossFitStream))
	folds := stratifiedFolds(a, cfg.CrossFitFolds, rng)
	for k := range cfg.CrossFitFolds {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fitRows, heldRows := splitRows(folds, k)
		xFit, aFit := selectRows(x, fitRows), pick(a, fitRows)
		propensity, err := cfg.Classifier(ctx, xFit, aFit)
		if err != nil {
			return nil, fmt.Errorf("fit dr-learner propensity fold %d: %w", k, err)
		}
		outcome, err := cfg.Classifier(ctx, withTreatment(xFit, aFit), pick(y, fitRows))
		if err != nil {
			return nil, fmt.Errorf("fit dr-learner outcome fold %d: %w", k, err)
		}

		xHeld := selectRows(x, heldRows)
		m := len(heldRows)
		e := propensity(xHeld)
		m1 := outcome(withTreatment(xHeld, constant(m, 1)))
		m0 := outcome(withTreatment(xHeld, constant(m, 0)))
		for r, i := range heldRows {
			ei := clip(e[r], cfg.ClipLow, cfg.ClipHigh)
			phi[i] = m1[r] - m0[r] + a[i]*(y[i]-m1[r])/ei - (1-a[i])*(y[i]-m0[r])/(1-ei)
			if math.IsNaN(phi[i]) || math.IsInf(phi[i], 0) {
				return nil, fmt.Errorf("dr-learner pseudo-outcome of row %d: %w", i, ErrNonFinite)
			}
		}
	}
	final, err := cfg.Regressor(ctx, x, phi)
	if err != nil {
		return nil, fmt.Errorf("fit dr-learner final stage: %w", err)
	}
	return upliftFunc(final), nil
}
