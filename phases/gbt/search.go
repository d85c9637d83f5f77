package gbt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/mat"

	"github.com/ecomopti/ecomopti/phases/learn"
)

// SearchSpace is the range of each hyper-parameter of a random search.
// Integer ranges are inclusive. LearningRate, MinSamplesLeaf and Lambda
// are drawn on a log scale, the others uniformly. DefaultSearchSpace gives
// the defaults named on the fields.
type SearchSpace struct {
	// Trees is the number of trees (default 100 to 500). With
	// SearchConfig.EarlyStoppingRounds above 0 it is an upper bound, and
	// the cross-validated loss curve picks the count.
	TreesMin, TreesMax int
	// LearningRate, default 0.01 to 0.3.
	LearningRateMin, LearningRateMax float64
	// Subsample and ColSample, the shares of rows and features per tree,
	// default 0.6 to 1 each.
	SubsampleMin, SubsampleMax float64
	ColSampleMin, ColSampleMax float64
	// MaxDepth of depth-wise trees, default 2 to 6.
	MaxDepthMin, MaxDepthMax int
	// MaxLeaves, when MaxLeavesMax is above 0, grows trees leaf-wise with
	// a drawn leaf limit, still bounded by the drawn MaxDepth. Default 0
	// (depth-wise trees).
	MaxLeavesMin, MaxLeavesMax int
	// MinSamplesLeaf, default 5 to 100.
	MinSamplesLeafMin, MinSamplesLeafMax int
	// Lambda, the L2 penalty on leaf weights, default 0.01 to 10.
	LambdaMin, LambdaMax float64
}

// DefaultSearchSpace returns the ranges listed on the fields of
// SearchSpace.
func DefaultSearchSpace() SearchSpace {
	return SearchSpace{
		TreesMin: 100, TreesMax: 500,
		LearningRateMin: 0.01, LearningRateMax: 0.3,
		SubsampleMin: 0.6, SubsampleMax: 1,
		ColSampleMin: 0.6, ColSampleMax: 1,
		MaxDepthMin: 2, MaxDepthMax: 6,
		MinSamplesLeafMin: 5, MinSamplesLeafMax: 100,
		LambdaMin: 0.01, LambdaMax: 10,
	}
}

// Validate returns an error wrapping ErrInvalidParams that names the first
// invalid range, or nil.
func (s SearchSpace) Validate() error {
	bad := func(name string, lo, hi any, want string) error {
		return fmt.Errorf("%w: search range of %s is [%v, %v], want %s", ErrInvalidParams, name, lo, hi, want)
	}
	switch {
	case s.TreesMin < 1 || s.TreesMax < s.TreesMin:
		return bad("Trees", s.TreesMin, s.TreesMax, "1 <= min <= max")
	case !(s.LearningRateMin > 0) || !(s.LearningRateMax >= s.LearningRateMin) || math.IsInf(s.LearningRateMax, 0):
		return bad("LearningRate", s.LearningRateMin, s.LearningRateMax, "0 < min <= max, finite")
	case !(s.SubsampleMin > 0) || !(s.SubsampleMax >= s.SubsampleMin) || s.SubsampleMax > 1:
		return bad("Subsample", s.SubsampleMin, s.SubsampleMax, "0 < min <= max <= 1")
	case !(s.ColSampleMin > 0) || !(s.ColSampleMax >= s.ColSampleMin) || s.ColSampleMax > 1:
		return bad("ColSample", s.ColSampleMin, s.ColSampleMax, "0 < min <= max <= 1")
	case s.MaxDepthMin < 0 || s.MaxDepthMax < s.MaxDepthMin:
		return bad("MaxDepth", s.MaxDepthMin, s.MaxDepthMax, "0 <= min <= max")
	case s.MaxLeavesMax > 0 && (s.MaxLeavesMin < 2 || s.MaxLeavesMax < s.MaxLeavesMin):
		return bad("MaxLeaves", s.MaxLeavesMin, s.MaxLeavesMax, "max 0 (off) or 2 <= min <= max")
	case s.MinSamplesLeafMin < 1 || s.MinSamplesLeafMax < s.MinSamplesLeafMin:
		return bad("MinSamplesLeaf", s.MinSamplesLeafMin, s.MinSamplesLeafMax, "1 <= min <= max")
	case !(s.LambdaMin > 0) || !(s.LambdaMax >= s.LambdaMin) || math.IsInf(s.LambdaMax, 0):
		return bad("Lambda", s.LambdaMin, s.LambdaMax, "0 < min <= max, finite")
	}
	return nil
}

// draw returns base with every searched field drawn from s.
func (s SearchSpace) draw(rng *rand.Rand, base Params) Params {
	p := base
	p.Trees = uniformInt(rng, s.TreesMin, s.TreesMax)
	p.LearningRate = logUniform(rng, s.LearningRateMin, s.LearningRateMax)
	p.Subsample = s.SubsampleMin + (s.SubsampleMax-s.SubsampleMin)*rng.Float64()
	p.ColSample = s.ColSampleMin + (s.ColSampleMax-s.ColSampleMin)*rng.Float64()
	p.MaxDepth = uniformInt(rng, s.MaxDepthMin, s.MaxDepthMax)
	p.MaxLeaves = 0
	if s.MaxLeavesMax > 0 {
		p.MaxLeaves = uniformInt(rng, s.MaxLeavesMin, s.MaxLeavesMax)
	}
	p.MinSamplesLeaf = int(math.Round(logUniform(rng, float64(s.MinSamplesLeafMin), float64(s.MinSamplesLeafMax))))
	p.Lambda = logUniform(rng, s.LambdaMin, s.LambdaMax)
	return p
}

func uniformInt(rng *rand.Rand, lo, hi int) int { return lo + rng.IntN(hi-lo+1) }

// logUniform draws exp(U(ln lo, ln hi)).
func logUniform(rng *rand.Rand, lo, hi float64) float64 {
	return math.Exp(math.Log(lo) + (math.Log(hi)-math.Log(lo))*rng.Float64())
}

// SearchConfig sets how a search runs. DefaultSearchConfig gives the
// defaults named on the fields.
type SearchConfig struct {
	// Trials is the number of parameter sets drawn (default 10, at least 1).
	Trials int `json:"trials"`
	// Folds is the number of cross-validation folds, stratified on the
	// target for LossLogistic (default 3, at least 2).
	Folds int `json:"folds"`
	// Seed drives the draws, the folds and the subsampling of each trial.
	Seed uint64 `json:"seed"`
	// EarlyStoppingRounds stops a fold's fit when its held-out loss has
	// not improved for this many trees. Above 0, a trial's tree count is
	// the one, at most the drawn Trees, that minimises the held-out loss
	// averaged over the folds. A fold that stopped early counts with its
	// last loss after that point. 0 scores every trial at its drawn Trees.
	// Default 20.
	EarlyStoppingRounds int `json:"early_stopping_rounds"`
	// Threads is the number of fits run at once, each on one goroutine
	// (default 0 = runtime.GOMAXPROCS). The result does not depend on it.
	Threads int `json:"threads"`
}

// DefaultSearchConfig returns the settings listed on the fields of
// SearchConfig.
func DefaultSearchConfig() SearchConfig {
	return SearchConfig{Trials: 10, Folds: 3, EarlyStoppingRounds: 20}
}

// validate returns an error wrapping ErrInvalidParams that names the first
// invalid field, or nil.
func (c SearchConfig) validate() error {
	bad := func(name string, v int, want string) error {
		return fmt.Errorf("%w: search %s %d, want %s", ErrInvalidParams, name, v, want)
	}
	switch {
	case c.Trials < 1:
		return bad("Trials", c.Trials, "at least 1")
	case c.Folds < 2:
		return bad("Folds", c.Folds, "at least 2")
	case c.EarlyStoppingRounds < 0:
		return bad("EarlyStoppingRounds", c.EarlyStoppingRounds, "0 (off) or more")
	case c.Threads < 0:
		return bad("Threads", c.Threads, "0 (all cores) or more")
	}
	return nil
}

// Trial is one drawn parameter set and its cross-validated score.
type Trial struct {
	// Params are the drawn parameters with Trees set to the chosen count.
	Params Params `json:"params"`
	// DrawnTrees is the tree count drawn from the search space.
	DrawnTrees int `json:"drawn_trees"`
	// CVLoss is the held-out loss (mean squared error or mean log-loss)
	// averaged over the folds, at Params.Trees trees.
	CVLoss float64 `json:"cv_loss"`
}

// SearchResult is the outcome of Search.
type SearchResult struct {
	// Best is the parameter set of the trial with the lowest CVLoss, the
	// earliest on ties, ready to fit on all rows.
	Best   Params       `json:"best"`
	CVLoss float64      `json:"cv_loss"`
	Config SearchConfig `json:"config"`
	Trials []Trial      `json:"trials"`
}

// Streams of the search generators, the second PCG seed word after Seed.
const (
	drawStream = 0x736561726368 // "search"
	foldStream = 0x666f6c6473   // "folds"
)

// Search draws cfg.Trials parameter sets from space on top of base, scores
// each by cfg.Folds-fold cross-validation of the loss of base.Loss on x
// and y, and returns them with the best one. base sets the loss and every
// field that space does not draw; its Seed and EarlyStoppingRounds are
// replaced, and Best keeps base.Threads. The features are binned once on
// all rows and every fold reuses the bins.
//
// Fits run in parallel on cfg.Threads goroutines, one goroutine each, and
// the result is the same for any thread count. Search returns the errors
// of Fit for invalid data or params, an error wrapping ErrInvalidParams
// for an invalid space or config, and ctx.Err() wrapped when ctx ends.
func Search(ctx context.Context, x *mat.Dense, y []float64, base Params, space SearchSpace, cfg SearchConfig) (*SearchResult, error) {
	if err := base.Validate(); err != nil {
		return nil, err
	}
	if err := space.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	names, err := checkInputs(x, y, base, FitOptions{})
	if err != nil {
		return nil, err
	}
	n, _ := x.Dims()
	if n < cfg.Folds {
		return nil, fmt.Errorf("gbt: search needs a row per fold, got %d rows for %d folds", n, cfg.Folds)
	}
	threads := cfg.Threads
	if threads == 0 {
		threads = runtime.GOMAXPROCS(0)
	}

	// Draw the trials, then bin once and cut the folds.
	rng := rand.New(rand.NewPCG(cfg.Seed, drawStream))
	trials := make([]Trial, cfg.Trials)
	for k := range trials {
		p := space.draw(rng, base)
		p.Seed = cfg.Seed + uint64(k)
		p.EarlyStoppingRounds = cfg.EarlyStoppingRounds
		if err := p.Validate(); err != nil {
			return nil, err
		}
		trials[k] = Trial{Params: p, DrawnTrees: p.Trees}
	}
	data := binData(x, fitBins(x, base.MaxBins, threads), threads)
	folds := cvFolds(y, cfg.Folds, base.Loss == LossLogistic, rand.New(rand.NewPCG(cfg.Seed, foldStream)))
	type fold struct {
		train, valid   *binnedData
		yTrain, yValid []float64
	}
	parts := make([]fold, cfg.Folds)
	for k := range parts {
		var trainRows, validRows []int
		for i, f := range folds {
			if f == k {
				validRows = append(validRows, i)
			} else {
				trainRows = append(trainRows, i)
			}
		}
		parts[k] = fold{
			train: data.subset(trainRows), valid: data.subset(validRows),
			yTrain: pickRows(y, trainRows), yValid: pickRows(y, validRows),
		}
	}

	// Fit every trial on every fold, recording the held-out loss curves.
	curves := make([][]float64, cfg.Trials*cfg.Folds)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	for range min(threads, len(curves)) {
		wg.Go(func() {
			for {
				job := int(next.Add(1) - 1)
				if job >= len(curves) || ctx.Err() != nil {
					return
				}
				trial, k := job/cfg.Folds, job%cfg.Folds
				p := trials[trial].Params
				p.Threads = 1
				part := parts[k]
				valid := &validSet{binned: part.valid, y: part.yValid}
				m, _, err := fitBinned(ctx, part.train, part.yTrain, p, names, valid)
				if err != nil {
					errOnce.Do(func() {
						firstErr = fmt.Errorf("gbt: search trial %d fold %d: %w", trial+1, k+1, err)
						cancel()
					})
					return
				}
				curves[job] = m.validLoss
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("gbt: search: %w", err)
	}

	// Score each trial and keep the best.
	res := &SearchResult{Config: cfg, Trials: trials, CVLoss: math.Inf(1)}
	best := -1
	for k := range trials {
		tr := &trials[k]
		trees, loss := chooseTrees(curves[k*cfg.Folds:(k+1)*cfg.Folds], tr.DrawnTrees, cfg.EarlyStoppingRounds > 0)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return nil, fmt.Errorf("gbt: search trial %d has cross-validated loss %v", k+1, loss)
		}
		tr.Params.Trees, tr.Params.EarlyStoppingRounds, tr.Params.Threads = trees, 0, base.Threads
		tr.CVLoss = loss
		if loss < res.CVLoss {
			res.CVLoss, best = loss, k
		}
	}
	if best < 0 {
		return nil, errors.New("gbt: search scored no trial")
	}
	res.Best = trials[best].Params
	return res, nil
}

// chooseTrees returns the tree count and mean held-out loss of one trial
// from its per-fold loss curves. With pick, the count minimises the mean
// over [1, drawn], the lowest count on ties, and a curve shorter than the
// count contributes its last value. Otherwise the count is drawn.
func chooseTrees(curves [][]float64, drawn int, pick bool) (int, float64) {
	meanAt := func(t int) float64 {
		var sum float64
		for _, c := range curves {
			sum += c[min(t, len(c))-1]
		}
		return sum / float64(len(curves))
	}
	if !pick {
		return drawn, meanAt(drawn)
	}
	bestT, bestLoss := 1, math.Inf(1)
	for t := 1; t <= drawn; t++ {
		if l := meanAt(t); l < bestLoss {
			bestT, bestLoss = t, l
		}
	}
	return bestT, bestLoss
}

// cvFolds assigns each row to one of k folds of near-equal size, after a
// seeded shuffle. With stratify the rows of each 0/1 target value are
// dealt out separately, so every fold gets its share of both classes.
func cvFolds(y []float64, k int, stratify bool, rng *rand.Rand) []int {
	folds := make([]int, len(y))
	groups := [][]int{make([]int, 0, len(y))}
	if stratify {
		groups = [][]int{nil, nil}
	}
	for i, v := range y {
		g := 0
		if stratify && v == 1 {
			g = 1
		}
		groups[g] = append(groups[g], i)
	}
	next := 0
	for _, rows := range groups {
		rng.Shuffle(len(rows), func(a, b int) { rows[a], rows[b] = rows[b], rows[a] })
		for _, i := range rows {
			folds[i] = next % k
			next++
		}
	}
	return folds
}

func pickRows(v []float64, rows []int) []float64 {
	out := make([]float64, len(rows))
	for k, i := range rows {
		out[k] = v[i]
	}
	return out
}

// Selector returns a learn.SelectFunc for boosted trees. With cfg.Trials
// 0 it returns Fitter(base) without looking at the data. Otherwise it runs
// Search with the seed it is given and returns Fitter of the best
// parameters. The Choice records the parameters and, after a search,
// every trial. Selector panics on an invalid space or config, which is a
// programming error.
func Selector(base Params, space SearchSpace, cfg SearchConfig) learn.SelectFunc {
	if cfg.Trials < 0 {
		panic(fmt.Sprintf("gbt: Selector with %d trials, want 0 (no search) or more", cfg.Trials))
	}
	if cfg.Trials > 0 {
		if err := space.Validate(); err != nil {
			panic(err.Error())
		}
		if err := cfg.validate(); err != nil {
			panic(err.Error())
		}
	}
	return func(ctx context.Context, x *mat.Dense, y []float64, seed uint64) (learn.FitFunc, learn.Choice, error) {
		choice := learn.Choice{Learner: "gbt"}
		p := base
		p.Seed = seed
		if cfg.Trials > 0 {
			c := cfg
			c.Seed = seed
			res, err := Search(ctx, x, y, base, space, c)
			if err != nil {
				return nil, choice, err
			}
			p = res.Best
			if choice.Search, err = json.Marshal(res); err != nil {
				return nil, choice, fmt.Errorf("gbt: encode search result: %w", err)
			}
		}
		var err error
		if choice.Params, err = json.Marshal(p); err != nil {
			return nil, choice, fmt.Errorf("gbt: encode params: %w", err)
		}
		return Fitter(p), choice, nil
	}
}
