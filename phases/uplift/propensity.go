package uplift

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/ecomopti/ecomopti/phases/learn"
	"gonum.org/v1/gonum/mat"
)

// PropensityInfo records how the propensity model was chosen.
type PropensityInfo struct {
	// Cs are the candidate inverse regularisation strengths, CVAUROC the
	// mean cross-validated AUROC of each (null when no fold had both arms).
	Cs      []float64  `json:"cs"`
	CVAUROC []*float64 `json:"cv_auroc"`
	// ChosenC is the candidate with the highest CVAUROC. Of tied
	// candidates, the first in Cs wins.
	ChosenC          float64 `json:"chosen_c"`
	Folds            int     `json:"folds"`
	CalibrationFolds int     `json:"calibration_folds"`
	ClipLow          float64 `json:"clip_low"`
	ClipHigh         float64 `json:"clip_high"`
}

// Overlap summarises how far estimated propensities are from 0 and 1 in
// one split. Min and max are null for an arm with no customers.
type Overlap struct {
	// OutsideShare is the share of customers whose propensity is outside
	// [OverlapLow, OverlapHigh] of the Config, by default [0.1, 0.9].
	OutsideShare float64  `json:"outside_share"`
	TreatedMin   *float64 `json:"treated_min,omitempty"`
	TreatedMax   *float64 `json:"treated_max,omitempty"`
	ControlMin   *float64 `json:"control_min,omitempty"`
	ControlMax   *float64 `json:"control_max,omitempty"`
}

// fitPropensity chooses the logistic C by cross-validated AUROC on the
// training rows, then cross-calibrates: for each of cfg.CalibrationFolds
// folds a logistic model fitted on the other folds is calibrated by
// isotonic regression on the held-out fold. The returned predictor
// averages the calibrated models and clips to [ClipLow, ClipHigh] after
// calibration, because isotonic maps return exact 0 and 1.
func fitPropensity(ctx context.Context, x *mat.Dense, a []float64, cfg Config, log *slog.Logger) (learn.PredictFunc, PropensityInfo, error) {
	info := PropensityInfo{
		Cs:               slices.Clone(cfg.PropensityCs),
		Folds:            cfg.PropensityFolds,
		CalibrationFolds: cfg.CalibrationFolds,
		ClipLow:          cfg.ClipLow,
		ClipHigh:         cfg.ClipHigh,
	}

	// Choose C by mean held-out AUROC.
	rng := rand.New(rand.NewPCG(cfg.Seed, propensityStream))
	folds := stratifiedFolds(a, cfg.PropensityFolds, rng)
	best := math.Inf(-1)
	for _, c := range cfg.PropensityCs {
		auc, err := crossValidatedAUROC(ctx, learn.Logistic(c), x, a, folds, cfg.PropensityFolds)
		if err != nil {
			return nil, info, fmt.Errorf("cross-validate propensity C=%v: %w", c, err)
		}
		info.CVAUROC = append(info.CVAUROC, optional(auc))
		log.Debug("propensity candidate", "c", c, "cv_auroc", auc)
		if auc > best {
			best, info.ChosenC = auc, c
		}
	}
	if math.IsInf(best, -1) {
		return nil, info, fmt.Errorf("choose propensity C: %w: no fold had both arms", ErrSingleArm)
	}

	// Cross-calibration: each fold calibrates the model fitted without it.
	calFolds := stratifiedFolds(a, cfg.CalibrationFolds, rng)
	type calibrated struct {
		score learn.PredictFunc
		iso   isotonic
	}
	var parts []calibrated
	for k := range cfg.CalibrationFolds {
		if err := ctx.Err(); err != nil {
			return nil, info, err
		}
		fitRows, calRows := splitRows(calFolds, k)
		score, err := learn.Logistic(info.ChosenC)(ctx, selectRows(x, fitRows), pick(a, fitRows))
		if err != nil {
			return nil, info, fmt.Errorf("fit propensity fold %d: %w", k, err)
		}
		raw := score(selectRows(x, calRows))
		parts = append(parts, calibrated{score: score, iso: fitIsotonic(raw, pick(a, calRows))})
	}
	predict := func(x *mat.Dense) []float64 {
		n, _ := x.Dims()
		out := make([]float64, n)
		for _, p := range parts {
			for i, s := range p.score(x) {
				out[i] += p.iso.predict(s)
			}
		}
		for i := range out {
			out[i] = clip(out[i]/float64(len(parts)), cfg.ClipLow, cfg.ClipHigh)
		}
		return out
	}
	return predict, info, nil
}

// Second PCG seed words of the learner streams.
const (
	propensityStream = 0x70726f70 // "prop"
	crossFitStream   = 0x6472     // "dr"
	revenueStream    = 0x726576   // "rev"
)

// crossValidatedAUROC returns the mean held-out AUROC of fit over the folds
// that contain both classes, or NaN when none does.
func crossValidatedAUROC(ctx context.Context, fit learn.FitFunc, x *mat.Dense, y []float64, folds []int, k int) (float64, error) {
	var sum float64
	var used int
	for f := range k {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		fitRows, testRows := splitRows(folds, f)
		predict, err := fit(ctx, selectRows(x, fitRows), pick(y, fitRows))
		if err != nil {
			return 0, err
		}
		auc := auroc(predict(selectRows(x, testRows)), pick(y, testRows))
		if !math.IsNaN(auc) {
			sum += auc
			used++
		}
	}
	if used == 0 {
		return math.NaN(), nil
	}
	return sum / float64(used), nil
}

// auroc returns the area under the ROC curve of score for 0/1 labels, as
// the Mann-Whitney statistic with average ranks for tied scores, or NaN
// when one class is absent.
func auroc(score, label []float64) float64 {
	ranks := averageRanks(score)
	var pos, neg, rankSum float64
	for i, l := range label {
		if l == 1 {
			pos++
			rankSum += ranks[i]
		} else {
			neg++
		}
	}
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

// summariseOverlap computes the overlap diagnostics of propensities e for
// treatment a.
func summariseOverlap(e, a []float64, low, high float64) Overlap {
	var ov Overlap
	if len(e) == 0 {
		return ov
	}
	tMin, tMax := math.Inf(1), math.Inf(-1)
	cMin, cMax := math.Inf(1), math.Inf(-1)
	var outside int
	for i, v := range e {
		if v < low || v > high {
			outside++
		}
		if a[i] == 1 {
			tMin, tMax = math.Min(tMin, v), math.Max(tMax, v)
		} else {
			cMin, cMax = math.Min(cMin, v), math.Max(cMax, v)
		}
	}
	ov.OutsideShare = float64(outside) / float64(len(e))
	ov.TreatedMin, ov.TreatedMax = optional(tMin), optional(tMax)
	ov.ControlMin, ov.ControlMax = optional(cMin), optional(cMax)
	return ov
}
