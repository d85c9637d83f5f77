package survival

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/mat"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// RSFConfig holds the settings of the random survival forest. The zero
// value is not usable, so start from DefaultRSFConfig.
type RSFConfig struct {
	// Trees is the number of trees, and 0 skips the forest. Default 100.
	Trees int
	// MinSamplesSplit is the smallest node, in bootstrap samples, that
	// may be split. Default 10.
	MinSamplesSplit int
	// MinSamplesLeaf is the smallest child, in bootstrap samples, that a
	// split may leave. Default 5.
	MinSamplesLeaf int
	// MaxFeatures is the number of features tried at each split, and 0
	// means floor(sqrt(p)) of the p features. Default 0.
	MaxFeatures int
	// MaxBins bounds the candidate thresholds per feature: a feature with
	// more distinct training values is cut at quantiles. Default 255.
	MaxBins int
	// Threads is the number of goroutines that grow trees (default 0 =
	// runtime.GOMAXPROCS). The forest does not depend on it.
	Threads int
}

// DefaultRSFConfig returns the defaults listed on the fields of RSFConfig.
func DefaultRSFConfig() RSFConfig {
	return RSFConfig{Trees: 100, MinSamplesSplit: 10, MinSamplesLeaf: 5, MaxBins: 255}
}

func (c RSFConfig) validate() error {
	switch {
	case c.Trees < 0:
		return fmt.Errorf("%w: forest trees %d must be >= 0", ErrConfig, c.Trees)
	case c.MinSamplesLeaf < 1 || c.MinSamplesSplit < 2*c.MinSamplesLeaf:
		return fmt.Errorf("%w: forest leaf size %d must be >= 1 and split size %d at least twice it",
			ErrConfig, c.MinSamplesLeaf, c.MinSamplesSplit)
	case c.MaxFeatures < 0 || c.Threads < 0:
		return fmt.Errorf("%w: forest features %d and threads %d must be >= 0", ErrConfig, c.MaxFeatures, c.Threads)
	case c.MaxBins < 2 || c.MaxBins > 256:
		return fmt.Errorf("%w: forest bins %d must be in [2, 256]", ErrConfig, c.MaxBins)
	}
	return nil
}

// RSF is a fitted random survival forest. Each tree is grown on a
// bootstrap sample with log-rank splits, and each leaf holds the
// Nelson-Aalen cumulative hazard of its samples. The forest's cumulative
// hazard H(t | x) is the mean over trees of the leaf hazard that x
// reaches, and its survival is exp(-H(t | x)). Its risk score is the sum
// of H(t | x) over the training event times, which grows with the
// predicted hazard.
type RSF struct {
	// Features are the covariate names, in the order of the model's
	// columns.
	Features []string
	// EventTimes are the distinct training event times in months,
	// ascending.
	EventTimes []float64
	trees      []rsfTree
}

// rsfTree is one tree: nodes[0] is the root, and a node with left < 0 is
// the leaf leaves[leaf].
type rsfTree struct {
	nodes  []rsfNode
	leaves []rsfLeaf
}

// rsfNode sends a row left when x[feature] <= threshold.
type rsfNode struct {
	feature     int32
	left, right int32
	leaf        int32
	threshold   float64
}

// rsfLeaf is a Nelson-Aalen step function: chf[k] is the cumulative
// hazard from EventTimes[times[k]] until the next step. risk is the sum of
// the function over every training event time.
type rsfLeaf struct {
	times []int32
	chf   []float64
	risk  float64
}

// FitRSF grows a random survival forest on every feature of train except
// tenure. It returns an error wrapping ErrConfig for an invalid cfg,
// ErrNoEvents when train has no event, and ctx.Err() when ctx ends.
// Trees are grown in parallel, and tree k draws from a PCG generator
// seeded with (seed, k), so the forest is the same for any Threads.
func FitRSF(ctx context.Context, train *dataset.Frame, cfg RSFConfig, seed uint64) (*RSF, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := checkFrame(train, true); err != nil {
		return nil, fmt.Errorf("fit forest: %w", err)
	}
	f, data, err := newRSFData(train, cfg.MaxBins)
	if err != nil {
		return nil, err
	}
	p := data.p
	mtry := cfg.MaxFeatures
	if mtry == 0 {
		mtry = int(math.Sqrt(float64(p)))
	}
	mtry = max(1, min(mtry, p))

	// Grow the trees on a pool of goroutines.
	f.trees = make([]rsfTree, cfg.Trees)
	threads := cfg.Threads
	if threads == 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(threads, cfg.Trees) {
		wg.Go(func() {
			g := newRSFGrower(data, cfg, mtry)
			for {
				k := int(next.Add(1) - 1)
				if k >= cfg.Trees || ctx.Err() != nil {
					return
				}
				f.trees[k] = g.grow(rand.New(rand.NewPCG(seed, uint64(k))))
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fit forest: %w", err)
	}
	return f, nil
}

// newRSFData bins the features of train except tenure and indexes its
// times. It returns the forest without trees, with its features and event
// times set.
func newRSFData(train *dataset.Frame, maxBins int) (*RSF, *rsfData, error) {
	names := train.Without(dataset.ColTenure)
	sel, err := train.Select(names)
	if err != nil {
		return nil, nil, fmt.Errorf("fit forest: %w", err)
	}
	n, p := sel.X.Dims()
	if n == 0 || p == 0 {
		return nil, nil, fmt.Errorf("fit forest: %w", ErrNoFeatures)
	}

	// Index the observed times, and the event times among them.
	times := slices.Clone(train.Tenure)
	slices.Sort(times)
	times = slices.Compact(times)
	timeIdx := make([]int32, n)
	for i, t := range train.Tenure {
		k, _ := slices.BinarySearch(times, t)
		timeIdx[i] = int32(k)
	}
	isEventTime := make([]bool, len(times))
	for i, e := range train.Event {
		if e == 1 {
			isEventTime[timeIdx[i]] = true
		}
	}
	f := &RSF{Features: names}
	eventIdx := make([]int32, len(times)) // rank among event times, -1 otherwise
	for k, t := range times {
		eventIdx[k] = -1
		if isEventTime[k] {
			eventIdx[k] = int32(len(f.EventTimes))
			f.EventTimes = append(f.EventTimes, t)
		}
	}
	if len(f.EventTimes) == 0 {
		return nil, nil, ErrNoEvents
	}

	data := &rsfData{
		n: n, p: p,
		bins:     binColumns(sel.X, maxBins),
		time:     timeIdx,
		event:    train.Event,
		eventIdx: eventIdx,
		nTimes:   len(times),
		nEvents:  len(f.EventTimes),
	}
	data.codes = data.bins.codes(sel.X)
	return f, data, nil
}

// Predict returns, for each row of frame, the risk score and the
// cumulative hazard at each of times (months): chf[k][i] is H(times[k] |
// x_i). It returns an error when frame lacks one of the model's features.
// Each row sums its trees in order, so the result does not depend on the
// goroutine count.
func (f *RSF) Predict(frame *dataset.Frame, times []float64) (risk []float64, chf [][]float64, err error) {
	sel, err := frame.Select(f.Features)
	if err != nil {
		return nil, nil, fmt.Errorf("forest predict: %w", err)
	}
	n, p := sel.X.Dims()
	risk = make([]float64, n)
	chf = make([][]float64, len(times))
	for k := range chf {
		chf[k] = make([]float64, n)
	}
	// stepOf[k] is the number of training event times <= times[k].
	stepOf := make([]int32, len(times))
	for k, t := range times {
		stepOf[k] = int32(sortSearchFloat(f.EventTimes, t))
	}
	raw := sel.X.RawMatrix()
	scale := 1 / float64(max(len(f.trees), 1))
	parallelRows(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := raw.Data[i*raw.Stride : i*raw.Stride+p]
			var r float64
			for t := range f.trees {
				leaf := f.trees[t].leafOf(row)
				r += leaf.risk
				for k, s := range stepOf {
					chf[k][i] += leaf.at(s)
				}
			}
			risk[i] = r * scale
			for k := range chf {
				chf[k][i] *= scale
			}
		}
	})
	return risk, chf, nil
}

// sortSearchFloat returns the number of sorted values <= t.
func sortSearchFloat(sorted []float64, t float64) int {
	k, found := slices.BinarySearch(sorted, t)
	if found {
		k++
	}
	return k
}

// leafOf returns the leaf that row reaches.
func (t *rsfTree) leafOf(row []float64) *rsfLeaf {
	k := int32(0)
	for {
		nd := &t.nodes[k]
		if nd.left < 0 {
			return &t.leaves[nd.leaf]
		}
		if row[nd.feature] <= nd.threshold {
			k = nd.left
		} else {
			k = nd.right
		}
	}
}

// at returns the leaf's cumulative hazard at a time preceded by steps
// training event times.
func (l *rsfLeaf) at(steps int32) float64 {
	// The last leaf step whose event time index is below steps.
	k := sortSearchInt32(l.times, steps)
	if k == 0 {
		return 0
	}
	return l.chf[k-1]
}

// sortSearchInt32 returns the number of sorted values below v.
func sortSearchInt32(sorted []int32, v int32) int {
	lo, hi := 0, len(sorted)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if sorted[mid] < v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// parallelRows runs fn over [0, n) in GOMAXPROCS contiguous chunks.
func parallelRows(n int, fn func(lo, hi int)) {
	threads := min(runtime.GOMAXPROCS(0), n)
	if threads <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for c := range threads {
		wg.Go(func() { fn(c*n/threads, (c+1)*n/threads) })
	}
	wg.Wait()
}

// columnBins cuts each feature at most maxBins-1 times. Value v of feature
// j falls in bin code(v) = the number of edges[j] below v, so "code <= b"
// is "v <= edges[j][b]".
type columnBins struct {
	edges [][]float64
}

// binColumns chooses the edges on the training values: midpoints between
// neighbouring distinct values when there are at most maxBins, and
// otherwise distinct values at maxBins equally spaced quantiles.
func binColumns(x *mat.Dense, maxBins int) columnBins {
	n, p := x.Dims()
	b := columnBins{edges: make([][]float64, p)}
	col := make([]float64, n)
	for j := 0; j < p; j++ {
		mat.Col(col, j, x)
		slices.Sort(col)
		distinct := slices.Compact(slices.Clone(col))
		var edges []float64
		if len(distinct) <= maxBins {
			for k := 1; k < len(distinct); k++ {
				edges = append(edges, distinct[k-1]+(distinct[k]-distinct[k-1])/2)
			}
		} else {
			for k := 1; k < maxBins; k++ {
				edges = append(edges, col[k*n/maxBins])
			}
			edges = slices.Compact(edges)
			// The largest value must stay above every edge.
			if edges[len(edges)-1] >= col[n-1] {
				edges = edges[:len(edges)-1]
			}
		}
		b.edges[j] = edges
	}
	return b
}

// codes returns the bin of every value of x, column by column:
// codes[j][i] for row i and feature j.
func (b columnBins) codes(x *mat.Dense) [][]uint8 {
	n, p := x.Dims()
	out := make([][]uint8, p)
	for j := 0; j < p; j++ {
		out[j] = make([]uint8, n)
		edges := b.edges[j]
		for i := 0; i < n; i++ {
			k, _ := slices.BinarySearch(edges, x.At(i, j))
			out[j][i] = uint8(k)
		}
	}
	return out
}
