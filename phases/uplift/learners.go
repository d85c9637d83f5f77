package uplift

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/ecomopti/ecomopti/phases/gbt"
	"github.com/ecomopti/ecomopti/phases/learn"
)

// Names of the fitted learner components in ModelInfo.Components.
const (
	ComponentSLearner     = "s_learner"
	ComponentDRPropensity = "dr_propensity"
	ComponentDROutcome    = "dr_outcome"
	ComponentDRFinal      = "dr_final"
)

// Components lists the component names in fitting order.
var Components = []string{ComponentSLearner, ComponentDRPropensity, ComponentDROutcome, ComponentDRFinal}

// FinalMaxDepth bounds the depth of the DR-learner's final regression,
// which fits a noisy pseudo-outcome and must stay shallow.
const FinalMaxDepth = 4

// UntunedParams returns the boosted-tree settings used without a search:
// 300 trees of depth at most 4 with learning rate 0.05, for the loss
// gbt.LossLogistic or gbt.LossSquared.
func UntunedParams(loss string) gbt.Params {
	p := gbt.DefaultParams()
	p.Loss = loss
	p.Trees = 300
	p.MaxDepth = 4
	p.LearningRate = 0.05
	return p
}

// BoostedLearners returns boosted-tree learners for Config.Classifier and
// Config.Regressor. With search.Trials 0 every component uses
// UntunedParams. Otherwise each component runs gbt.Search with search, its
// Seed replaced by the component's, over gbt.DefaultSearchSpace. The depth
// of the final regression is capped at FinalMaxDepth. Each component keeps
// the parameters with the lowest cross-validated loss on its own design
// and target: log-loss for the classifiers, squared error for the final
// regression. It panics for an invalid search config.
func BoostedLearners(search gbt.SearchConfig) (classifier, regressor learn.SelectFunc) {
	finalSpace := gbt.DefaultSearchSpace()
	finalSpace.MaxDepthMax = FinalMaxDepth
	finalSpace.MaxDepthMin = min(finalSpace.MaxDepthMin, FinalMaxDepth)
	classifier = gbt.Selector(UntunedParams(gbt.LossLogistic), gbt.DefaultSearchSpace(), search)
	regressor = gbt.Selector(UntunedParams(gbt.LossSquared), finalSpace, search)
	return classifier, regressor
}

// LinearLearners returns the linear learners for Config.Classifier and
// Config.Regressor: L2 logistic regression with C = 1 and ridge regression
// with alpha = 10, on standardised features.
func LinearLearners() (classifier, regressor learn.SelectFunc) {
	classifier = learn.Fixed(learn.Logistic(1), "logistic", map[string]float64{"c": 1})
	regressor = learn.Fixed(learn.Ridge(10), "ridge", map[string]float64{"alpha": 10})
	return classifier, regressor
}

// componentSeed derives the seed of one component's search and fits from
// the run seed, so components draw from unrelated streams.
func componentSeed(seed uint64, component int) uint64 {
	// The SplitMix64 finaliser: a bijective mix of a Weyl sequence.
	z := seed + uint64(component+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// upliftFunc predicts the uplift of each row of a feature matrix.
type upliftFunc func(x *mat.Dense) []float64

// fitSLearner fits one classifier f of retention on [X, A, A*X] and
// predicts u(x) = f(x, 1) - f(x, 0), a difference of probabilities. The
// choice of learner is stored in choices.
func fitSLearner(ctx context.Context, cfg Config, x *mat.Dense, a, y []float64, choices map[string]learn.Choice) (upliftFunc, error) {
	design := withInteractions(x, a)
	fit, choice, err := cfg.Classifier(ctx, design, y, componentSeed(cfg.Seed, 0))
	if err != nil {
		return nil, fmt.Errorf("choose s-learner: %w", err)
	}
	choices[ComponentSLearner] = choice
	f, err := fit(ctx, design, y)
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

// fitDRLearner fits the doubly robust learner with cross-fitting. The
// propensity model e(x) and the outcome model m(x, a) are chosen once on
// all training rows. Then for each fold they are fitted on the other
// folds, and the held-out rows get the pseudo-outcome
//
//	phi = m(x,1) - m(x,0) + A (Y - m(x,1)) / e - (1 - A) (Y - m(x,0)) / (1 - e)
//
// with e clipped to [ClipLow, ClipHigh], so phi is finite. The final
// regressor is then chosen and fitted on phi over all training rows and
// predicts the uplift. The choices are stored in choices.
func fitDRLearner(ctx context.Context, cfg Config, x *mat.Dense, a, y []float64, choices map[string]learn.Choice) (upliftFunc, error) {
	n, _ := x.Dims()
	fitE, choice, err := cfg.Classifier(ctx, x, a, componentSeed(cfg.Seed, 1))
	if err != nil {
		return nil, fmt.Errorf("choose dr-learner propensity: %w", err)
	}
	choices[ComponentDRPropensity] = choice
	fitM, choice, err := cfg.Classifier(ctx, withTreatment(x, a), y, componentSeed(cfg.Seed, 2))
	if err != nil {
		return nil, fmt.Errorf("choose dr-learner outcome: %w", err)
	}
	choices[ComponentDROutcome] = choice

	// Cross-fitting: the folds' nuisance models are independent, so they
	// are fitted concurrently. Each writes its own held-out rows of phi.
	phi := make([]float64, n)
	rng := rand.New(rand.NewPCG(cfg.Seed, crossFitStream))
	folds := stratifiedFolds(a, cfg.CrossFitFolds, rng)
	errs := make([]error, cfg.CrossFitFolds)
	var wg sync.WaitGroup
	for k := range cfg.CrossFitFolds {
		wg.Go(func() { errs[k] = crossFitFold(ctx, fitE, fitM, cfg, x, a, y, folds, k, phi) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}

	fitFinal, choice, err := cfg.Regressor(ctx, x, phi, componentSeed(cfg.Seed, 3))
	if err != nil {
		return nil, fmt.Errorf("choose dr-learner final stage: %w", err)
	}
	choices[ComponentDRFinal] = choice
	final, err := fitFinal(ctx, x, phi)
	if err != nil {
		return nil, fmt.Errorf("fit dr-learner final stage: %w", err)
	}
	return upliftFunc(final), nil
}

// crossFitFold fits the nuisance models without fold k and writes the
// pseudo-outcome of fold k's rows into phi.
func crossFitFold(ctx context.Context, fitE, fitM learn.FitFunc, cfg Config, x *mat.Dense, a, y []float64,
	folds []int, k int, phi []float64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	fitRows, heldRows := splitRows(folds, k)
	xFit, aFit := selectRows(x, fitRows), pick(a, fitRows)
	propensity, err := fitE(ctx, xFit, aFit)
	if err != nil {
		return fmt.Errorf("fit dr-learner propensity fold %d: %w", k, err)
	}
	outcome, err := fitM(ctx, withTreatment(xFit, aFit), pick(y, fitRows))
	if err != nil {
		return fmt.Errorf("fit dr-learner outcome fold %d: %w", k, err)
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
			return fmt.Errorf("dr-learner pseudo-outcome of row %d: %w", i, ErrNonFinite)
		}
	}
	return nil
}
