package gbt

import (
	"errors"
	"fmt"
	"math"
	"runtime"
)

// Loss names accepted in Params.Loss.
const (
	// LossSquared is the squared error (y - F)^2 / 2 for regression.
	// Predictions are in target units.
	LossSquared = "squared"
	// LossLogistic is the binary log-loss of y in {0, 1} against
	// p = 1 / (1 + exp(-F)). Predictions are probabilities of y = 1.
	LossLogistic = "logistic"
)

// MaxBinsLimit is the largest accepted Params.MaxBins. Bin codes are
// stored as bytes, and the code after the last bin marks a missing value.
const MaxBinsLimit = 255

// ErrInvalidParams is wrapped by every error that rejects a Params value.
var ErrInvalidParams = errors.New("gbt: invalid params")

// Params are the hyper-parameters of a boosted tree ensemble. The zero
// value is invalid, so start from DefaultParams. Each field comment gives
// the default and whether 0 turns a limit off.
type Params struct {
	// Loss is LossSquared or LossLogistic.
	Loss string `json:"loss"`
	// Trees is the number of boosting rounds (default 100).
	Trees int `json:"trees"`
	// LearningRate multiplies every leaf weight (default 0.1).
	LearningRate float64 `json:"learning_rate"`
	// MaxDepth bounds the depth of each tree, the root being depth 0
	// (default 6, 0 = no limit).
	MaxDepth int `json:"max_depth"`
	// MaxLeaves bounds the leaves per tree (default 0 = no limit). A value
	// above 0 grows trees leaf-wise: the leaf with the largest gain is
	// split next. Otherwise every leaf with a positive gain is split.
	MaxLeaves int `json:"max_leaves"`
	// MinSamplesLeaf is the minimum number of training rows in a leaf
	// (default 20).
	MinSamplesLeaf int `json:"min_samples_leaf"`
	// MinHessianLeaf is the minimum sum of second derivatives of the loss
	// in a leaf (default 1e-3).
	MinHessianLeaf float64 `json:"min_hessian_leaf"`
	// Lambda is the L2 penalty on leaf weights (default 1).
	Lambda float64 `json:"lambda"`
	// Subsample is the share of rows drawn without replacement for each
	// tree (default 1, in (0, 1]).
	Subsample float64 `json:"subsample"`
	// ColSample is the share of features drawn for each tree (default 1,
	// in (0, 1]).
	ColSample float64 `json:"col_sample"`
	// MaxBins is the maximum number of histogram bins per feature
	// (default 255, in [2, 255]).
	MaxBins int `json:"max_bins"`
	// EarlyStoppingRounds stops training when the validation loss has not
	// improved for this many trees, and keeps the trees up to the best one
	// (default 0 = off). It requires a validation set in FitOptions.
	EarlyStoppingRounds int `json:"early_stopping_rounds"`
	// Seed drives row and column subsampling (default 0).
	Seed uint64 `json:"seed"`
	// Threads is the number of goroutines that build histograms (default
	// 0 = runtime.GOMAXPROCS). The fitted model does not depend on it.
	Threads int `json:"threads"`
}

// DefaultParams returns the defaults listed on the fields of Params, with
// the squared-error loss.
func DefaultParams() Params {
	return Params{
		Loss:           LossSquared,
		Trees:          100,
		LearningRate:   0.1,
		MaxDepth:       6,
		MinSamplesLeaf: 20,
		MinHessianLeaf: 1e-3,
		Lambda:         1,
		Subsample:      1,
		ColSample:      1,
		MaxBins:        MaxBinsLimit,
	}
}

// Validate returns an error wrapping ErrInvalidParams that names the first
// invalid field and its value, or nil.
func (p Params) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidParams}, args...)...)
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case p.Loss != LossSquared && p.Loss != LossLogistic:
		return bad("Loss %q, want %q or %q", p.Loss, LossSquared, LossLogistic)
	case p.Trees < 1:
		return bad("Trees %d, want at least 1", p.Trees)
	case !(p.LearningRate > 0) || !finite(p.LearningRate):
		return bad("LearningRate %v, want a finite value above 0", p.LearningRate)
	case p.MaxDepth < 0:
		return bad("MaxDepth %d, want 0 (no limit) or more", p.MaxDepth)
	case p.MaxLeaves < 0 || p.MaxLeaves == 1:
		return bad("MaxLeaves %d, want 0 (no limit) or at least 2", p.MaxLeaves)
	case p.MinSamplesLeaf < 1:
		return bad("MinSamplesLeaf %d, want at least 1", p.MinSamplesLeaf)
	case !(p.MinHessianLeaf >= 0) || !finite(p.MinHessianLeaf):
		return bad("MinHessianLeaf %v, want a finite value >= 0", p.MinHessianLeaf)
	case !(p.Lambda >= 0) || !finite(p.Lambda):
		return bad("Lambda %v, want a finite value >= 0", p.Lambda)
	case p.Lambda == 0 && p.MinHessianLeaf == 0:
		// Leaf weights are -G/(H+Lambda); one of the two must keep the
		// denominator away from 0.
		return bad("Lambda and MinHessianLeaf are both 0, set one above 0")
	case !(p.Subsample > 0 && p.Subsample <= 1):
		return bad("Subsample %v, want a value in (0, 1]", p.Subsample)
	case !(p.ColSample > 0 && p.ColSample <= 1):
		return bad("ColSample %v, want a value in (0, 1]", p.ColSample)
	case p.MaxBins < 2 || p.MaxBins > MaxBinsLimit:
		return bad("MaxBins %d, want a value in [2, %d]", p.MaxBins, MaxBinsLimit)
	case p.EarlyStoppingRounds < 0:
		return bad("EarlyStoppingRounds %d, want 0 (off) or more", p.EarlyStoppingRounds)
	case p.Threads < 0:
		return bad("Threads %d, want 0 (all cores) or more", p.Threads)
	}
	return nil
}

// threads returns the number of histogram goroutines to use.
func (p Params) threads() int {
	if p.Threads > 0 {
		return p.Threads
	}
	return runtime.GOMAXPROCS(0)
}
