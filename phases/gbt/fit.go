package gbt

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"gonum.org/v1/gonum/mat"

	"github.com/ecomopti/ecomopti/phases/learn"
)

// FitOptions are the optional inputs of Fit.
type FitOptions struct {
	// FeatureNames names the columns of x in Importance and in the saved
	// model. The default is "x0", "x1", ...
	FeatureNames []string
	// ValidX and ValidY are a validation set, scored after every tree.
	// Params.EarlyStoppingRounds needs them. Without early stopping they
	// only fill Model.ValidLoss.
	ValidX *mat.Dense
	ValidY []float64
}

// pcgStream is the second PCG seed word, after Params.Seed.
const pcgStream = 0x9e3779b97f4a7c15

// Fit grows a boosted tree ensemble on the rows of x with targets y, which
// must be 0 or 1 for LossLogistic. x may contain NaN for missing values
// but no infinities. Starting from a constant base score F0 (the mean of y,
// or its log-odds for LossLogistic), round t fits a tree to the first and
// second derivatives g_i, h_i of the loss at the current raw scores and
// adds it:
//
//	F_t(x) = F_{t-1}(x) + LearningRate * w_leaf(x),   w_leaf = -G/(H+Lambda)
//
// with G and H the sums of g_i and h_i over the rows in the leaf. This is
// a Newton step per leaf on the second-order expansion of the loss.
//
// Fit returns learn.ErrEmpty when x has no rows or no columns, an error
// wrapping ErrInvalidParams for bad params, and ctx.Err() wrapped when ctx
// ends between two trees. For a given Seed the model is the same for every
// Threads value.
func Fit(ctx context.Context, x *mat.Dense, y []float64, p Params, opt FitOptions) (*Model, error) {
	m, _, err := fit(ctx, x, y, p, opt)
	return m, err
}

// fit is Fit that also returns the raw training scores it kept up to date
// while growing trees. They equal the model's raw scores on x unless early
// stopping dropped trees.
func fit(ctx context.Context, x *mat.Dense, y []float64, p Params, opt FitOptions) (*Model, []float64, error) {
	if err := p.Validate(); err != nil {
		return nil, nil, err
	}
	names, err := checkInputs(x, y, p, opt)
	if err != nil {
		return nil, nil, err
	}
	threads := p.threads()

	// Bin the features on the training rows.
	mapper := fitBins(x, p.MaxBins, threads)
	data := binData(x, mapper, threads)
	var valid *validSet
	if opt.ValidX != nil {
		valid = &validSet{x: opt.ValidX, y: opt.ValidY}
	}
	return fitBinned(ctx, data, y, p, names, valid)
}

// fitBinned grows the ensemble on binned data. Inputs are checked by the
// caller. valid, when not nil, is scored after every tree.
func fitBinned(ctx context.Context, data *binnedData, y []float64, p Params, names []string,
	valid *validSet) (*Model, []float64, error) {
	n, nf := data.n, data.p
	threads := p.threads()
	m := &Model{params: p, names: names, base: baseScore(p.Loss, y)}
	score := make([]float64, n)
	for i := range score {
		score[i] = m.base
	}
	if valid != nil {
		valid.reset(m.base)
	}

	grad := make([]gradPair, n)
	gr := newGrower(p, data, grad)
	gr.rows = make([]int32, 0, n)
	rng := rand.New(rand.NewPCG(p.Seed, pcgStream))
	bagRows := clampCount(p.Subsample, n)
	bagFeatures := clampCount(p.ColSample, nf)
	inBag := make([]bool, n)

	bestLoss, bestTrees := math.Inf(1), 0
	for t := 0; t < p.Trees; t++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("gbt: fit stopped before tree %d: %w", t+1, err)
		}
		computeGradients(p.Loss, grad, score, y, threads)

		// Draw this tree's rows and features.
		gr.rows = sampleSorted(rng, n, bagRows, gr.rows)
		gr.allRows = bagRows == n
		gr.features = sampleSorted(rng, nf, bagFeatures, gr.features)
		gr.cols = data.columns(gr.features, gr.cols)

		tr := gr.grow()
		m.trees = append(m.trees, *tr)

		gr.addToScores(tr, score, inBag)

		if valid == nil {
			continue
		}
		loss := valid.add(tr, p.Loss, threads)
		m.validLoss = append(m.validLoss, loss)
		if loss < bestLoss {
			bestLoss, bestTrees = loss, t+1
		} else if p.EarlyStoppingRounds > 0 && t+1-bestTrees >= p.EarlyStoppingRounds {
			break
		}
	}
	if p.EarlyStoppingRounds > 0 {
		m.trees = m.trees[:bestTrees]
	}
	if err := m.checkFinite(); err != nil {
		return nil, nil, fmt.Errorf("gbt: fit: %w", err)
	}
	return m, score, nil
}

// addToScores adds tree t, just grown, to the raw training scores. In-bag
// rows take the value of the leaf they were partitioned into, the others
// go through the tree on their bin codes. inBag is scratch space with one
// entry per row.
func (gr *grower) addToScores(t *tree, score []float64, inBag []bool) {
	for _, lr := range gr.leaves {
		v := t.nodes[lr.id].value
		for _, r := range gr.rows[lr.start:lr.end] {
			score[r] += v
		}
	}
	if gr.allRows {
		return
	}
	clear(inBag)
	for _, r := range gr.rows {
		inBag[r] = true
	}
	for i, in := range inBag {
		if !in {
			score[i] += t.predictBinned(gr.data, i)
		}
	}
}

// Fitter returns a learn.FitFunc that fits a model with p and predicts
// with Model.Predict. It has no validation set, so p.EarlyStoppingRounds
// must be 0. With invalid params every call returns the Validate error.
func Fitter(p Params) learn.FitFunc {
	return func(ctx context.Context, x *mat.Dense, y []float64) (learn.PredictFunc, error) {
		m, err := Fit(ctx, x, y, p, FitOptions{})
		if err != nil {
			return nil, err
		}
		return m.Predict, nil
	}
}

// checkInputs validates the data given to Fit and returns the feature
// names to use.
func checkInputs(x *mat.Dense, y []float64, p Params, opt FitOptions) ([]string, error) {
	if x == nil || x.IsEmpty() {
		return nil, learn.ErrEmpty
	}
	n, nf := x.Dims()
	if n == 0 || nf == 0 {
		return nil, learn.ErrEmpty
	}
	if n > math.MaxInt32 {
		return nil, fmt.Errorf("gbt: %d rows, at most %d are supported", n, math.MaxInt32)
	}
	if err := checkData(x, y, p.Loss, "x", "y"); err != nil {
		return nil, err
	}

	names := opt.FeatureNames
	if names == nil {
		names = make([]string, nf)
		for j := range names {
			names[j] = "x" + strconv.Itoa(j)
		}
	} else {
		if len(names) != nf {
			return nil, fmt.Errorf("gbt: %d feature names for %d columns", len(names), nf)
		}
		seen := make(map[string]bool, nf)
		for j, s := range names {
			if s == "" || seen[s] {
				return nil, fmt.Errorf("gbt: feature name %d %q is empty or repeated", j, s)
			}
			seen[s] = true
		}
		names = append([]string(nil), names...)
	}

	switch {
	case opt.ValidX == nil && opt.ValidY != nil:
		return nil, errors.New("gbt: ValidY is set but ValidX is nil")
	case opt.ValidX == nil && p.EarlyStoppingRounds > 0:
		return nil, fmt.Errorf("gbt: EarlyStoppingRounds %d needs a validation set in FitOptions", p.EarlyStoppingRounds)
	case opt.ValidX != nil:
		if opt.ValidX.IsEmpty() {
			return nil, errors.New("gbt: validation set has no rows")
		}
		if _, vf := opt.ValidX.Dims(); vf != nf {
			return nil, fmt.Errorf("gbt: validation set has %d columns, training set %d", vf, nf)
		}
		if err := checkData(opt.ValidX, opt.ValidY, p.Loss, "ValidX", "ValidY"); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// checkData rejects a target count that differs from the row count,
// non-finite or (for LossLogistic) non-binary targets, and infinite
// features.
func checkData(x *mat.Dense, y []float64, loss, xName, yName string) error {
	n, nf := x.Dims()
	if len(y) != n {
		return fmt.Errorf("gbt: %s has %d rows but %s has %d targets", xName, n, yName, len(y))
	}
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("gbt: %s[%d] is %v, want a finite value", yName, i, v)
		}
		if loss == LossLogistic && v != 0 && v != 1 {
			return fmt.Errorf("gbt: %s[%d] is %v, want 0 or 1 for the logistic loss", yName, i, v)
		}
	}
	raw := x.RawMatrix()
	for i := 0; i < n; i++ {
		for j, v := range raw.Data[i*raw.Stride : i*raw.Stride+nf] {
			if math.IsInf(v, 0) {
				return fmt.Errorf("gbt: %s[%d, %d] is %v, use NaN for a missing value", xName, i, j, v)
			}
		}
	}
	return nil
}

// clampCount returns round(share * n) limited to [1, n].
func clampCount(share float64, n int) int {
	k := int(math.Round(share * float64(n)))
	return max(1, min(k, n))
}

// sampleSorted draws k of the integers 0..n-1 without replacement into
// out, in increasing order (selection sampling: keep i with probability
// needed/left).
func sampleSorted[T int | int32](rng *rand.Rand, n, k int, out []T) []T {
	out = out[:0]
	if k >= n {
		for i := 0; i < n; i++ {
			out = append(out, T(i))
		}
		return out
	}
	for i := 0; i < n && len(out) < k; i++ {
		if rng.IntN(n-i) < k-len(out) {
			out = append(out, T(i))
		}
	}
	return out
}

// validSet is a validation set with its running raw scores. It holds
// either raw features x or binned rows, binned with the training data's
// bins.
type validSet struct {
	x      *mat.Dense
	binned *binnedData
	y      []float64
	score  []float64
}

// reset sets every raw score to the base score.
func (v *validSet) reset(base float64) {
	v.score = make([]float64, len(v.y))
	for i := range v.score {
		v.score[i] = base
	}
}

// add adds tree t to the scores and returns the mean validation loss.
func (v *validSet) add(t *tree, loss string, threads int) float64 {
	if v.binned != nil {
		for i := range v.score {
			v.score[i] += t.predictBinned(v.binned, i)
		}
		return meanLoss(loss, v.score, v.y)
	}
	raw := v.x.RawMatrix()
	nf := raw.Cols
	rowsParallel(len(v.y), threads, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v.score[i] += t.predict(raw.Data[i*raw.Stride : i*raw.Stride+nf])
		}
	})
	return meanLoss(loss, v.score, v.y)
}
