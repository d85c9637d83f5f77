// Package uplift is Phase 3 of the pipeline: it estimates how much a
// retention campaign changes each customer's 6-month retention.
//
// Conventions: the outcome Y is retention over 6 months (1 = stayed) and the
// uplift u(x) = P(Y=1 | treated, x) - P(Y=1 | control, x) is the absolute
// reduction in churn probability. A negative uplift marks a "sleeping dog"
// whom the campaign pushes away.
//
// Unless the input carries real campaign data, the phase first simulates a
// campaign with known ground truth on top of the real customers (see
// DGPConfig). It then fits a calibrated propensity model, an S-learner, a
// cross-fitted DR-learner and their weighted ensemble on the training split
// only, and predicts all three splits. The learners are boosted trees by
// default, each component with its own hyper-parameter search (see
// BoostedLearners), or linear models (LinearLearners). The validation and
// test splits are evaluated against the simulated truth (AUUC, Spearman,
// revenue) and against observed outcomes (Qini).
package uplift

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sync"

	"github.com/ecomopti/ecomopti/phases/dataset"
	"github.com/ecomopti/ecomopti/phases/gbt"
	"github.com/ecomopti/ecomopti/phases/learn"
)

// Config contains the settings of the phase. DefaultConfig gives the
// defaults that the field comments name.
type Config struct {
	// Seed seeds every random stream. Split k of dataset.Splits simulates
	// its campaign and draws its random revenue baselines from Seed + k,
	// and the model folds come from Seed. Default 42.
	Seed uint64
	// DGP is the simulated campaign, unused for real campaign data.
	DGP DGPConfig

	// PropensityCs are the candidate C values of the propensity logistic
	// regression, chosen by PropensityFolds-fold cross-validated AUROC.
	// Defaults {0.01, 0.1, 1, 10} and 3.
	PropensityCs    []float64
	PropensityFolds int
	// CalibrationFolds is the number of isotonic cross-calibration folds.
	// Default 3.
	CalibrationFolds int
	// ClipLow and ClipHigh bound every propensity after calibration, and
	// the DR-learner's propensities. Defaults 0.05 and 0.95.
	ClipLow, ClipHigh float64
	// OverlapLow and OverlapHigh bound the overlap diagnostic. Defaults
	// 0.1 and 0.9.
	OverlapLow, OverlapHigh float64

	// Classifier picks and fits the S-learner and the DR-learner's
	// propensity and outcome models, each chosen on its own design and
	// target. Regressor does the same for the DR-learner's final stage on
	// the pseudo-outcome. The defaults are BoostedLearners with
	// gbt.DefaultSearchConfig: boosted trees with a 10-trial random search
	// and 3-fold cross-validation each. LinearLearners gives the linear
	// alternative.
	Classifier, Regressor learn.SelectFunc
	// CrossFitFolds is the number of DR-learner cross-fitting folds.
	// Default 2.
	CrossFitFolds int
	// WeightS and WeightDR weight the S-learner and DR-learner in the
	// ensemble. Defaults 0.3 and 0.7.
	WeightS, WeightDR float64

	// TopFraction is the share of a split that the revenue simulation
	// targets, rounded down. Default 0.2.
	TopFraction float64
	// TreatmentCost is the cost in dollars of treating one customer.
	// Default 5.
	TreatmentCost float64
	// RandomDraws is the number of random selections that the revenue
	// simulation compares against. Default 20.
	RandomDraws int
}

// DefaultConfig returns the default settings.
func DefaultConfig() Config {
	classifier, regressor := BoostedLearners(gbt.DefaultSearchConfig())
	return Config{
		Seed:             42,
		DGP:              DefaultDGPConfig(),
		PropensityCs:     []float64{0.01, 0.1, 1, 10},
		PropensityFolds:  3,
		CalibrationFolds: 3,
		ClipLow:          0.05,
		ClipHigh:         0.95,
		OverlapLow:       0.1,
		OverlapHigh:      0.9,
		Classifier:       classifier,
		Regressor:        regressor,
		CrossFitFolds:    2,
		WeightS:          0.3,
		WeightDR:         0.7,
		TopFraction:      0.2,
		TreatmentCost:    5,
		RandomDraws:      20,
	}
}

// validate rejects settings that Run cannot use.
func (c Config) validate() error {
	if err := c.DGP.validate(); err != nil {
		return fmt.Errorf("%w: dgp: %w", ErrInvalidConfig, err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	switch {
	case len(c.PropensityCs) == 0:
		return bad("no propensity C candidates")
	case c.PropensityFolds < 2 || c.CalibrationFolds < 2 || c.CrossFitFolds < 2:
		return bad("fold counts %d, %d and %d must be at least 2", c.PropensityFolds, c.CalibrationFolds, c.CrossFitFolds)
	case !(0 < c.ClipLow && c.ClipLow < c.ClipHigh && c.ClipHigh < 1):
		return bad("propensity clip [%v, %v] must satisfy 0 < low < high < 1", c.ClipLow, c.ClipHigh)
	case c.Classifier == nil || c.Regressor == nil:
		return bad("classifier and regressor must be set")
	case !finite(c.WeightS) || !finite(c.WeightDR):
		return bad("ensemble weights %v and %v must be finite", c.WeightS, c.WeightDR)
	case !(c.TopFraction >= 0 && c.TopFraction <= 1):
		return bad("top fraction %v must be in [0, 1]", c.TopFraction)
	case !finite(c.TreatmentCost) || c.RandomDraws < 0:
		return bad("treatment cost %v or random draws %d is invalid", c.TreatmentCost, c.RandomDraws)
	}
	for _, v := range c.PropensityCs {
		if !(v > 0) || math.IsInf(v, 0) {
			return bad("propensity C %v must be positive and finite", v)
		}
	}
	return nil
}

// Input contains the Phase 1 frames and Phase 2 predictions, keyed by
// dataset.Train, dataset.Val and dataset.Test. Per split, S6 and CLV have
// one entry per frame row, in the frame's row order.
type Input struct {
	Frames map[string]*dataset.Frame
	// S6 is the Phase 2 survival probability S(6|x).
	S6 map[string][]float64
	// CLV is the Phase 2 predicted 6-month CLV in dollars.
	CLV map[string][]float64
}

// Result contains the outputs of the phase.
type Result struct {
	// Splits maps each of dataset.Splits to its outputs.
	Splits map[string]*SplitResult
	// Models records the chosen settings, written to models.json.
	Models ModelInfo
}

// SplitResult contains the outputs for one split, one entry per customer in
// the frame's row order.
type SplitResult struct {
	// Scores is the table that Phase 4 reads. TrueUplift is nil for real
	// campaign data.
	Scores *dataset.Scores
	// Treatment is A (0/1) and Retained is Y (0/1), simulated unless the
	// input carries real campaign data.
	Treatment, Retained []float64
	// Propensity is the calibrated and clipped estimate of P(A=1 | x).
	Propensity []float64
	// TruePropensity is the simulated P(A=1 | x), nil for real data.
	TruePropensity []float64
	// Evaluation maps a model name to its metrics. It is nil for the
	// training split.
	Evaluation map[string]Evaluation
}

// ModelInfo records the fitted settings of a run.
type ModelInfo struct {
	RealTreatment bool               `json:"real_treatment"`
	Seed          uint64             `json:"seed"`
	Features      []string           `json:"features"`
	Propensity    PropensityInfo     `json:"propensity"`
	Overlap       map[string]Overlap `json:"overlap"`
	// Components maps each fitted learner (ComponentSLearner and the
	// DR-learner's three) to the learner and settings it was given.
	Components    map[string]learn.Choice `json:"components"`
	CrossFitFolds int                     `json:"cross_fit_folds"`
	// Weights maps the S-learner and DR-learner names to their ensemble
	// weights.
	Weights       map[string]float64 `json:"weights"`
	TopFraction   float64            `json:"top_fraction"`
	TreatmentCost float64            `json:"treatment_cost"`
	RandomDraws   int                `json:"random_draws"`
	// DGP describes the simulated campaign, nil for real campaign data.
	DGP *DGPInfo `json:"dgp,omitempty"`
}

// DGPInfo describes a simulated campaign.
type DGPInfo struct {
	Config DGPConfig `json:"config"`
	// CLVThreshold is the training-split CLV quantile in dollars above
	// which the high-CLV effect applies.
	CLVThreshold float64 `json:"clv_threshold"`
	// Per split: the solved logit intercept, the share treated and the
	// mean true uplift.
	Intercept      map[string]float64 `json:"intercept"`
	TreatedShare   map[string]float64 `json:"treated_share"`
	MeanTrueUplift map[string]float64 `json:"mean_true_uplift"`
}

// Run simulates or reads the campaign, fits the propensity model and the
// uplift learners on the training split, predicts every split and evaluates
// the validation and test splits. It returns an error wrapping
// ErrInvalidConfig, ErrInvalidInput, ErrSingleArm or ErrNonFinite when
// those apply, a learner error, or ctx.Err() when cancelled.
func Run(ctx context.Context, in Input, cfg Config, log *slog.Logger) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	train := in.Frames[dataset.Train]
	res := &Result{
		Splits: make(map[string]*SplitResult, len(dataset.Splits)),
		Models: ModelInfo{
			RealTreatment: train.HasTreatment(),
			Seed:          cfg.Seed,
			Features:      slices.Clone(train.Names),
			Overlap:       make(map[string]Overlap, len(dataset.Splits)),
			Components:    make(map[string]learn.Choice, 4),
			CrossFitFolds: cfg.CrossFitFolds,
			Weights:       map[string]float64{dataset.ModelSLearner: cfg.WeightS, dataset.ModelDRLearner: cfg.WeightDR},
			TopFraction:   cfg.TopFraction,
			TreatmentCost: cfg.TreatmentCost,
			RandomDraws:   cfg.RandomDraws,
		},
	}

	// Treatment and outcome per split, simulated or observed.
	if err := res.prepareCampaign(in, cfg, log); err != nil {
		return nil, err
	}
	trainOut := res.Splits[dataset.Train]
	if err := checkArms(trainOut.Treatment, trainOut.Retained, cfg); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Models, fitted on the training split and applied to every split.
	if err := res.fitModels(ctx, in, cfg, log); err != nil {
		return nil, err
	}

	// Evaluation of the held-out splits.
	for k, split := range dataset.Splits {
		if split == dataset.Train {
			continue
		}
		out := res.Splits[split]
		out.Evaluation = evaluateSplit(out.Scores.Uplift, dataset.Models, out.Scores.TrueUplift,
			out.Scores.CLV, out.Treatment, out.Retained, cfg, cfg.Seed+uint64(k))
		for _, m := range dataset.Models {
			ev := out.Evaluation[m]
			log.Info("uplift evaluation", "split", split, "model", m,
				"auuc", deref(ev.AUUC), "spearman", deref(ev.Spearman), "qini", deref(ev.Qini))
		}
	}
	return res, nil
}

// prepareCampaign fills Scores (without uplift predictions), Treatment and
// Retained of every split, simulating the campaign unless the frames carry
// real campaign data.
func (r *Result) prepareCampaign(in Input, cfg Config, log *slog.Logger) error {
	var cut float64
	if !r.Models.RealTreatment {
		cut = quantile(in.CLV[dataset.Train], cfg.DGP.HighCLVQuantile)
		r.Models.DGP = &DGPInfo{
			Config:         cfg.DGP,
			CLVThreshold:   cut,
			Intercept:      make(map[string]float64),
			TreatedShare:   make(map[string]float64),
			MeanTrueUplift: make(map[string]float64),
		}
	}
	for k, split := range dataset.Splits {
		f := in.Frames[split]
		p0 := make([]float64, f.Len())
		for i, s := range in.S6[split] {
			p0[i] = clip(1-s, cfg.DGP.P0Min, cfg.DGP.P0Max)
		}
		out := &SplitResult{Scores: &dataset.Scores{
			IDs:     slices.Clone(f.IDs),
			Churned: slices.Clone(f.Event),
			Tenure:  slices.Clone(f.Tenure),
			P0:      p0,
			CLV:     slices.Clone(in.CLV[split]),
			Uplift:  make(map[string][]float64, len(dataset.Models)),
		}}
		r.Splits[split] = out
		if r.Models.RealTreatment {
			out.Treatment = slices.Clone(f.Treatment)
			out.Retained = slices.Clone(f.Retained)
			continue
		}

		g, err := generate(f, p0, in.CLV[split], cut, cfg.DGP, cfg.Seed+uint64(k))
		if err != nil {
			return fmt.Errorf("%w: split %s: %w", ErrInvalidInput, split, err)
		}
		out.Treatment, out.Retained = g.treatment, g.retained
		out.TruePropensity = g.propensity
		out.Scores.TrueUplift = g.uplift
		info := r.Models.DGP
		info.Intercept[split] = g.intercept
		info.TreatedShare[split] = mean(g.treatment)
		info.MeanTrueUplift[split] = mean(g.uplift)
		log.Info("campaign simulated", "split", split, "rows", f.Len(),
			"intercept", g.intercept, "mean_propensity", mean(g.propensity),
			"treated_share", info.TreatedShare[split], "retained_share", mean(g.retained),
			"mean_true_uplift", info.MeanTrueUplift[split])
	}
	return nil
}

// fitModels fits the propensity model and the learners on the training
// split, and stores propensities and uplift predictions for every split.
func (r *Result) fitModels(ctx context.Context, in Input, cfg Config, log *slog.Logger) error {
	train := r.Splits[dataset.Train]
	x := in.Frames[dataset.Train].X

	// The propensity model and the two learners are independent, and each
	// of them leaves a core idle most of the time at this data size, so
	// they are fitted concurrently. Each writes only its own variables.
	var (
		propensity          learn.PredictFunc
		sLearner, drLearner upliftFunc
		errs                [3]error
		sChoice             = map[string]learn.Choice{}
		wg                  sync.WaitGroup
	)
	wg.Go(func() {
		var info PropensityInfo
		propensity, info, errs[0] = fitPropensity(ctx, x, train.Treatment, cfg, log)
		if errs[0] != nil {
			errs[0] = fmt.Errorf("fit propensity: %w", errs[0])
			return
		}
		r.Models.Propensity = info
		log.Info("propensity model fitted", "chosen_c", info.ChosenC)
	})
	wg.Go(func() {
		sLearner, errs[1] = fitSLearner(ctx, cfg, x, train.Treatment, train.Retained, sChoice)
	})
	drLearner, errs[2] = fitDRLearner(ctx, cfg, x, train.Treatment, train.Retained, r.Models.Components)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	maps.Copy(r.Models.Components, sChoice)
	for _, name := range Components {
		c := r.Models.Components[name]
		log.Info("uplift component fitted", "component", name, "learner", c.Learner, "params", string(c.Params))
	}

	for _, split := range dataset.Splits {
		out := r.Splits[split]
		xs := in.Frames[split].X
		out.Propensity = propensity(xs)
		ov := summariseOverlap(out.Propensity, out.Treatment, cfg.OverlapLow, cfg.OverlapHigh)
		r.Models.Overlap[split] = ov
		log.Info("propensity overlap", "split", split, "outside_share", ov.OutsideShare,
			"treated_min", deref(ov.TreatedMin), "treated_max", deref(ov.TreatedMax),
			"control_min", deref(ov.ControlMin), "control_max", deref(ov.ControlMax))

		s, dr := sLearner(xs), drLearner(xs)
		ens := make([]float64, len(s))
		for i := range s {
			ens[i] = cfg.WeightS*s[i] + cfg.WeightDR*dr[i]
		}
		out.Scores.Uplift[dataset.ModelSLearner] = s
		out.Scores.Uplift[dataset.ModelDRLearner] = dr
		out.Scores.Uplift[dataset.ModelEnsemble] = ens

		checks := map[string][]float64{"propensity": out.Propensity, "s_learner": s, "dr_learner": dr, "ensemble": ens}
		for name, v := range checks {
			if i := firstNonFinite(v); i >= 0 {
				return fmt.Errorf("%s prediction for row %d of split %s: %w", name, i, split, ErrNonFinite)
			}
		}
	}
	return nil
}

// validate checks that every split is present, aligned and finite, and
// that all splits share the feature names and the presence of campaign
// data.
func (in Input) validate() error {
	train, ok := in.Frames[dataset.Train]
	if !ok || train == nil {
		return fmt.Errorf("%w: missing split %s", ErrInvalidInput, dataset.Train)
	}
	for _, split := range dataset.Splits {
		f := in.Frames[split]
		if f == nil {
			return fmt.Errorf("%w: missing split %s", ErrInvalidInput, split)
		}
		if err := f.Validate(); err != nil {
			return fmt.Errorf("%w: split %s: %w", ErrInvalidInput, split, err)
		}
		if f.Len() == 0 {
			return fmt.Errorf("%w: split %s has no rows", ErrInvalidInput, split)
		}
		if !slices.Equal(f.Names, train.Names) {
			return fmt.Errorf("%w: split %s has features %v, training has %v", ErrInvalidInput, split, f.Names, train.Names)
		}
		if f.HasTreatment() != train.HasTreatment() {
			return fmt.Errorf("%w: split %s and split %s differ in having treatment and retained columns",
				ErrInvalidInput, split, dataset.Train)
		}
		if len(in.S6[split]) != f.Len() || len(in.CLV[split]) != f.Len() {
			return fmt.Errorf("%w: split %s has %d rows but %d S(6|x) and %d CLV values",
				ErrInvalidInput, split, f.Len(), len(in.S6[split]), len(in.CLV[split]))
		}
		for name, v := range map[string][]float64{"S(6|x)": in.S6[split], "CLV": in.CLV[split]} {
			if i := firstNonFinite(v); i >= 0 {
				return fmt.Errorf("%w: split %s: %s of row %d is %v", ErrInvalidInput, split, name, i, v[i])
			}
		}
		if i := firstNonFinite(f.X.RawMatrix().Data); i >= 0 {
			_, p := f.X.Dims()
			return fmt.Errorf("%w: split %s: feature %s of row %d is not finite", ErrInvalidInput, split, f.Names[i%p], i/p)
		}
		if f.HasTreatment() {
			for name, v := range map[string][]float64{dataset.ColTreatment: f.Treatment, dataset.ColRetained: f.Retained} {
				for i, b := range v {
					if b != 0 && b != 1 {
						return fmt.Errorf("%w: split %s: %s of row %d is %v, expected 0 or 1", ErrInvalidInput, split, name, i, b)
					}
				}
			}
		}
	}
	return nil
}

// checkArms requires, in the training split, enough treated and control
// customers for every fold split, and both outcomes.
func checkArms(a, y []float64, cfg Config) error {
	need := max(cfg.PropensityFolds, cfg.CalibrationFolds, cfg.CrossFitFolds)
	var treated, retained int
	for i := range a {
		treated += int(a[i])
		retained += int(y[i])
	}
	controls, churned := len(a)-treated, len(y)-retained
	if treated < need || controls < need {
		return fmt.Errorf("%w: %d treated and %d control customers, need at least %d of each", ErrSingleArm, treated, controls, need)
	}
	if retained == 0 || churned == 0 {
		return fmt.Errorf("%w: %d retained and %d churned customers, need both outcomes", ErrSingleArm, retained, churned)
	}
	return nil
}

// firstNonFinite returns the index of the first NaN or infinite value, or -1.
func firstNonFinite(v []float64) int {
	for i, x := range v {
		if !finite(x) {
			return i
		}
	}
	return -1
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// deref returns *p, or nil for a nil pointer, for logging optional metrics.
func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
