package gbt

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Model is a fitted boosted tree ensemble. It is read-only after Fit or
// Load, so Predict may be called from several goroutines.
type Model struct {
	params    Params
	names     []string
	base      float64
	trees     []tree
	validLoss []float64
}

// Params returns the parameters the model was fitted with.
func (m *Model) Params() Params { return m.params }

// FeatureNames returns a copy of the names of the columns the model
// expects, in order.
func (m *Model) FeatureNames() []string { return append([]string(nil), m.names...) }

// NumTrees returns the number of trees in the model. With early stopping
// this is the best iteration, because the trees after it are dropped.
func (m *Model) NumTrees() int { return len(m.trees) }

// ValidLoss returns a copy of the validation loss after each fitted tree
// (mean squared error, or mean log-loss for LossLogistic), including the
// trees that early stopping dropped. It is nil without a validation set.
func (m *Model) ValidLoss() []float64 { return append([]float64(nil), m.validLoss...) }

// Predict returns one prediction per row of x: target units for
// LossSquared, the probability of y = 1 for LossLogistic. NaN is a
// missing value and follows each split's learned default side. Large
// inputs are scored by Params.Threads goroutines. Predict panics when x
// does not have one column per feature name.
func (m *Model) Predict(x *mat.Dense) []float64 {
	if x == nil || x.IsEmpty() {
		return []float64{}
	}
	n, nf := x.Dims()
	if nf != len(m.names) {
		panic(fmt.Sprintf("gbt: Predict got %d columns, the model has %d features", nf, len(m.names)))
	}
	out := make([]float64, n)
	raw := x.RawMatrix()
	threads := m.params.threads()
	if n*max(len(m.trees), 1) < minParallelPredict {
		threads = 1
	}
	parallelFor(n, threads, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i] = m.base
		}
		// Score blocks of rows tree by tree, so each tree stays in cache
		// while a block passes through it. Every row still sums its trees
		// in order, as Fit does, so training scores and predictions on the
		// training rows agree exactly.
		for start := lo; start < hi; start += predictBlock {
			end := min(start+predictBlock, hi)
			for t := range m.trees {
				tr := &m.trees[t]
				for i := start; i < end; i++ {
					out[i] += tr.predict(raw.Data[i*raw.Stride : i*raw.Stride+nf])
				}
			}
		}
		for i := lo; i < hi; i++ {
			out[i] = output(m.params.Loss, out[i])
		}
	})
	return out
}

// predictBlock is the number of rows Predict passes through one tree
// before moving to the next.
const predictBlock = 64

// Importance returns each feature's share of the total split gain over all
// trees, keyed by feature name. The shares sum to 1, or are all 0 when the
// model has no split.
func (m *Model) Importance() map[string]float64 {
	total := make([]float64, len(m.names))
	var sum float64
	for _, t := range m.trees {
		for _, nd := range t.nodes {
			if nd.left >= 0 {
				total[nd.feature] += nd.gain
				sum += nd.gain
			}
		}
	}
	out := make(map[string]float64, len(m.names))
	for j, name := range m.names {
		if sum > 0 {
			out[name] = total[j] / sum
		} else {
			out[name] = 0
		}
	}
	return out
}

// checkFinite returns an error if a leaf value or gain is NaN or infinite.
func (m *Model) checkFinite() error {
	for k, t := range m.trees {
		for i, nd := range t.nodes {
			if !isFinite(nd.value) || !isFinite(nd.gain) {
				return fmt.Errorf("tree %d node %d has value %v and gain %v", k, i, nd.value, nd.gain)
			}
		}
	}
	if !isFinite(m.base) {
		return fmt.Errorf("base score is %v", m.base)
	}
	return nil
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// modelFormat and modelVersion identify the JSON form of a Model.
const (
	modelFormat  = "ecomopti-gbt"
	modelVersion = 1
)

// ErrBadModel is wrapped by the errors of Load and UnmarshalJSON when the
// JSON is not a valid saved model.
var ErrBadModel = errors.New("gbt: invalid saved model")

// modelJSON is the saved form of a Model.
type modelJSON struct {
	Format       string     `json:"format"`
	Version      int        `json:"version"`
	Params       Params     `json:"params"`
	FeatureNames []string   `json:"feature_names"`
	BaseScore    float64    `json:"base_score"`
	ValidLoss    []float64  `json:"valid_loss,omitempty"`
	Trees        []treeJSON `json:"trees"`
}

// treeJSON stores a tree as parallel arrays indexed by node, the root
// first. Leaves have feature, left and right -1. Threshold, default_left
// and gain only matter for internal nodes, and value only for leaves.
type treeJSON struct {
	Feature     []int32   `json:"feature"`
	Threshold   []float64 `json:"threshold"`
	DefaultLeft []bool    `json:"default_left"`
	Left        []int32   `json:"left"`
	Right       []int32   `json:"right"`
	Value       []float64 `json:"value"`
	Gain        []float64 `json:"gain"`
}

// MarshalJSON encodes the model with its parameters and feature names.
func (m *Model) MarshalJSON() ([]byte, error) {
	out := modelJSON{
		Format:       modelFormat,
		Version:      modelVersion,
		Params:       m.params,
		FeatureNames: m.names,
		BaseScore:    m.base,
		ValidLoss:    m.validLoss,
		Trees:        make([]treeJSON, len(m.trees)),
	}
	for k, t := range m.trees {
		nn := len(t.nodes)
		tj := treeJSON{
			Feature:     make([]int32, nn),
			Threshold:   make([]float64, nn),
			DefaultLeft: make([]bool, nn),
			Left:        make([]int32, nn),
			Right:       make([]int32, nn),
			Value:       make([]float64, nn),
			Gain:        make([]float64, nn),
		}
		for i, nd := range t.nodes {
			tj.Feature[i] = nd.feature
			tj.Threshold[i] = nd.threshold
			tj.DefaultLeft[i] = nd.defaultLeft
			tj.Left[i] = nd.left
			tj.Right[i] = nd.right
			tj.Value[i] = nd.value
			tj.Gain[i] = nd.gain
		}
		out.Trees[k] = tj
	}
	return json.Marshal(out)
}

// UnmarshalJSON decodes a model written by MarshalJSON. It returns an
// error wrapping ErrBadModel when the format, parameters, feature names or
// tree structure are invalid, so a decoded model is safe to predict with.
func (m *Model) UnmarshalJSON(data []byte) error {
	var in modelJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("%w: %w", ErrBadModel, err)
	}

	// Check the header, then the trees.
	if in.Format != modelFormat || in.Version != modelVersion {
		return fmt.Errorf("%w: format %q version %d, want %q version %d",
			ErrBadModel, in.Format, in.Version, modelFormat, modelVersion)
	}
	if err := in.Params.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadModel, err)
	}
	if len(in.FeatureNames) == 0 {
		return fmt.Errorf("%w: no feature names", ErrBadModel)
	}
	seen := make(map[string]bool, len(in.FeatureNames))
	for j, s := range in.FeatureNames {
		if s == "" || seen[s] {
			return fmt.Errorf("%w: feature name %d %q is empty or repeated", ErrBadModel, j, s)
		}
		seen[s] = true
	}
	if !isFinite(in.BaseScore) {
		return fmt.Errorf("%w: base score %v", ErrBadModel, in.BaseScore)
	}

	trees := make([]tree, len(in.Trees))
	for k, tj := range in.Trees {
		t, err := decodeTree(tj, len(in.FeatureNames))
		if err != nil {
			return fmt.Errorf("%w: tree %d: %w", ErrBadModel, k, err)
		}
		trees[k] = t
	}

	*m = Model{
		params:    in.Params,
		names:     in.FeatureNames,
		base:      in.BaseScore,
		trees:     trees,
		validLoss: in.ValidLoss,
	}
	return nil
}

// decodeTree checks and converts one saved tree. Children must come after
// their parent, which rules out cycles, and each node has one parent.
func decodeTree(tj treeJSON, features int) (tree, error) {
	nn := len(tj.Feature)
	if nn == 0 {
		return tree{}, errors.New("no nodes")
	}
	for _, k := range []int{len(tj.Threshold), len(tj.DefaultLeft), len(tj.Left), len(tj.Right), len(tj.Value), len(tj.Gain)} {
		if k != nn {
			return tree{}, fmt.Errorf("node arrays have lengths %d and %d", nn, k)
		}
	}
	t := tree{nodes: make([]node, nn)}
	hasParent := make([]bool, nn)
	for i := range t.nodes {
		nd := node{
			feature:     tj.Feature[i],
			threshold:   tj.Threshold[i],
			defaultLeft: tj.DefaultLeft[i],
			left:        tj.Left[i],
			right:       tj.Right[i],
			value:       tj.Value[i],
			gain:        tj.Gain[i],
		}
		if !isFinite(nd.value) || !isFinite(nd.gain) || math.IsNaN(nd.threshold) {
			return tree{}, fmt.Errorf("node %d has value %v, gain %v, threshold %v", i, nd.value, nd.gain, nd.threshold)
		}
		if nd.left == -1 && nd.right == -1 {
			nd.feature = -1
			t.nodes[i] = nd
			continue
		}
		if nd.feature < 0 || int(nd.feature) >= features {
			return tree{}, fmt.Errorf("node %d splits on feature %d of %d", i, nd.feature, features)
		}
		for _, c := range []int32{nd.left, nd.right} {
			if int(c) <= i || int(c) >= nn || hasParent[c] {
				return tree{}, fmt.Errorf("node %d has child %d, want an unused node after it", i, c)
			}
			hasParent[c] = true
		}
		t.nodes[i] = nd
	}
	return t, nil
}

// Save writes the model as JSON to w.
func (m *Model) Save(w io.Writer) error {
	data, err := m.MarshalJSON()
	if err != nil {
		return fmt.Errorf("gbt: save model: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("gbt: save model: %w", err)
	}
	return nil
}

// Load reads a model written by Save. Errors about the content wrap
// ErrBadModel.
func Load(r io.Reader) (*Model, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("gbt: load model: %w", err)
	}
	m := new(Model)
	if err := m.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	return m, nil
}
