package gbt

import (
	"bytes"
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/ecomopti/ecomopti/phases/learn"
)

// stepData returns x = 1..10 in one column with y = 0 for x <= 4 and
// y = 10 above.
func stepData() (*mat.Dense, []float64) {
	x := mat.NewDense(10, 1, nil)
	y := make([]float64, 10)
	for i := 0; i < 10; i++ {
		x.Set(i, 0, float64(i+1))
		if i+1 > 4 {
			y[i] = 10
		}
	}
	return x, y
}

func stumpParams(loss string, trees int, lr float64) Params {
	p := DefaultParams()
	p.Loss = loss
	p.Trees = trees
	p.LearningRate = lr
	p.MaxDepth = 1
	p.MinSamplesLeaf = 1
	p.Lambda = 1
	return p
}

func TestFitSquaredStepExact(t *testing.T) {
	x, y := stepData()
	m, score, err := fit(t.Context(), x, y, stumpParams(LossSquared, 2, 0.1), FitOptions{})
	if err != nil {
		t.Fatalf("fit: %v", err)
	}

	// Hand computation with base score mean(y) = 6, lambda 1, lr 0.1.
	// Tree 1: left g = 6 on 4 rows, w = -24/5; right g = -4 on 6 rows,
	// w = 24/7. Tree 2 repeats this on the new residuals.
	left1 := 6 - 0.1*24.0/5
	right1 := 6 + 0.1*24.0/7
	left2 := left1 - 0.1*(4*left1)/5
	right2 := right1 + 0.1*(6*(10-right1))/7
	const tol = 1e-12

	if got := m.base; math.Abs(got-6) > tol {
		t.Errorf("base score = %v, want 6", got)
	}
	if len(m.trees) != 2 {
		t.Fatalf("got %d trees, want 2", len(m.trees))
	}
	root := m.trees[0].nodes[0]
	if root.feature != 0 || root.threshold != 4.5 {
		t.Errorf("root split = feature %d threshold %v, want feature 0 threshold 4.5", root.feature, root.threshold)
	}
	// gain = 24^2/5 + 24^2/7 - 0^2/11.
	if want := 576.0/5 + 576.0/7; math.Abs(root.gain-want) > 1e-9 {
		t.Errorf("root gain = %v, want %v", root.gain, want)
	}
	pred := m.Predict(x)
	for i, v := range pred {
		want := right2
		if i+1 <= 4 {
			want = left2
		}
		if math.Abs(v-want) > tol {
			t.Errorf("prediction at x=%d = %.15g, want %.15g", i+1, v, want)
		}
		if math.Float64bits(v) != math.Float64bits(score[i]) {
			t.Errorf("prediction at x=%d = %v, training score %v", i+1, v, score[i])
		}
	}
	between := m.Predict(mat.NewDense(2, 1, []float64{4.4, 4.6}))
	if math.Abs(between[0]-left2) > tol || math.Abs(between[1]-right2) > tol {
		t.Errorf("predictions at 4.4 and 4.6 = %v, want %v and %v", between, left2, right2)
	}
	if imp := m.Importance(); imp["x0"] != 1 {
		t.Errorf("importance = %v, want x0: 1", imp)
	}
}

func TestFitLogisticStepExact(t *testing.T) {
	x := mat.NewDense(6, 1, []float64{1, 2, 3, 4, 5, 6})
	y := []float64{0, 0, 1, 1, 1, 1}
	m := fitOrFatal(t, x, y, stumpParams(LossLogistic, 1, 1), FitOptions{})

	// Base score log(4/2); p = 2/3 on every row, h = 2/9. Left (x <= 2):
	// G = 4/3, H = 4/9, w = -(4/3)/(13/9) = -12/13. Right: G = -4/3,
	// H = 8/9, w = 12/17.
	base := math.Log(2)
	wantLeft := 1 / (1 + math.Exp(-(base - 12.0/13)))
	wantRight := 1 / (1 + math.Exp(-(base + 12.0/17)))
	pred := m.Predict(x)
	for i, v := range pred {
		want := wantRight
		if i < 2 {
			want = wantLeft
		}
		if math.Abs(v-want) > 1e-12 {
			t.Errorf("probability at x=%d = %.15g, want %.15g", i+1, v, want)
		}
	}
	if got := m.trees[0].nodes[0].threshold; got != 2.5 {
		t.Errorf("threshold = %v, want 2.5", got)
	}
}

// smooth is the regression target of TestFitRegressionAccuracy.
func smooth(row []float64) float64 {
	return math.Sin(3*row[0]) + row[1]*row[1] - 0.5*row[2] + 0.5*row[0]*row[3]
}

func TestFitRegressionAccuracy(t *testing.T) {
	rng := newRand(7)
	const nTrain, nTest, p = 3000, 1000, 6
	makeSet := func(n int) (*mat.Dense, []float64) {
		x := uniformX(rng, n, p, -1, 1)
		y := make([]float64, n)
		for i := range y {
			y[i] = smooth(x.RawRowView(i)) + 0.05*rng.NormFloat64()
		}
		return x, y
	}
	xTrain, yTrain := makeSet(nTrain)
	xTest, yTest := makeSet(nTest)

	params := DefaultParams()
	params.Trees = 300
	params.MaxDepth = 4
	m := fitOrFatal(t, xTrain, yTrain, params, FitOptions{})
	// Noise variance 0.0025 against a target variance near 0.72 caps the
	// attainable R^2 near 0.997.
	r2 := rSquared(yTest, m.Predict(xTest))
	t.Logf("held-out R^2 %.4f", r2)
	if r2 < 0.95 {
		t.Errorf("held-out R^2 = %.4f, want > 0.95", r2)
	}
}

// logitInteract is the true log-odds of TestFitClassificationAUROC.
func logitInteract(row []float64) float64 {
	return 1.5*row[0] - 2*row[1] + 2*row[0]*row[2] + row[3]*row[3] - 1
}

func TestFitClassificationAUROC(t *testing.T) {
	rng := newRand(11)
	const nTrain, nTest, p = 4000, 2000, 6
	makeSet := func(n int) (*mat.Dense, []float64, []float64) {
		x := uniformX(rng, n, p, -2, 2)
		y := make([]float64, n)
		truth := make([]float64, n)
		for i := range y {
			truth[i] = sigmoid(logitInteract(x.RawRowView(i)))
			if rng.Float64() < truth[i] {
				y[i] = 1
			}
		}
		return x, y, truth
	}
	xTrain, yTrain, _ := makeSet(nTrain)
	xTest, yTest, truth := makeSet(nTest)

	params := DefaultParams()
	params.Loss = LossLogistic
	params.Trees = 200
	params.MaxDepth = 3
	m := fitOrFatal(t, xTrain, yTrain, params, FitOptions{})
	pred := m.Predict(xTest)
	for i, v := range pred {
		if !(v > 0 && v < 1) {
			t.Fatalf("probability %d = %v, want a value in (0, 1)", i, v)
		}
	}
	got, oracle := auroc(yTest, pred), auroc(yTest, truth)
	t.Logf("held-out AUROC %.4f, true model %.4f", got, oracle)
	if got < 0.85 {
		t.Errorf("held-out AUROC = %.4f, want > 0.85", got)
	}
}

func TestFitDeterministic(t *testing.T) {
	x, y := telcoLike(1500, 3)
	// Some missing values exercise the default directions.
	rng := newRand(4)
	for i := 0; i < 1500; i++ {
		if rng.Float64() < 0.1 {
			x.Set(i, 41, math.NaN())
		}
	}
	base := DefaultParams()
	base.Loss = LossLogistic
	base.Trees = 40
	base.Subsample = 0.7
	base.ColSample = 0.6

	fitWith := func(seed uint64, maxLeaves int) []float64 {
		p := base
		p.Seed = seed
		p.MaxLeaves = maxLeaves
		return fitOrFatal(t, x, y, p, FitOptions{}).Predict(x)
	}
	for _, leaves := range []int{0, 15} {
		first := fitWith(99, leaves)
		if i := firstDifference(first, fitWith(99, leaves)); i >= 0 {
			t.Errorf("MaxLeaves %d: two fits with seed 99 differ at row %d", leaves, i)
		}
		if firstDifference(first, fitWith(100, leaves)) < 0 {
			t.Errorf("MaxLeaves %d: seeds 99 and 100 gave identical predictions", leaves)
		}
	}
}

// forceParallel lowers the work sizes of the parallel loops so that small
// test data takes the parallel paths.
func forceParallel(t *testing.T) {
	t.Helper()
	work, rows, predict := minParallelWork, minParallelRows, minParallelPredict
	minParallelWork, minParallelRows, minParallelPredict = 1, 1, 1
	t.Cleanup(func() { minParallelWork, minParallelRows, minParallelPredict = work, rows, predict })
}

func TestFitSameForAnyThreads(t *testing.T) {
	forceParallel(t)
	x, y := telcoLike(1200, 71)
	xValid, yValid := telcoLike(400, 72)
	rng := newRand(73)
	for i := 0; i < 1200; i++ {
		if rng.Float64() < 0.1 {
			x.Set(i, 40, math.NaN())
		}
	}
	tests := []struct {
		name                 string
		colSample, subsample float64
		maxLeaves            int
	}{
		{"AllFeatures", 1, 1, 0},
		{"ColSample", 0.6, 1, 0},
		{"SubsampleLeafWise", 0.8, 0.7, 12},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultParams()
			p.Loss = LossLogistic
			p.Trees = 15
			p.ColSample = tc.colSample
			p.Subsample = tc.subsample
			p.MaxLeaves = tc.maxLeaves
			p.Seed = 8
			opt := FitOptions{ValidX: xValid, ValidY: yValid}

			p.Threads = 1
			one := fitOrFatal(t, x, y, p, opt)
			want := one.Predict(x)
			for _, threads := range []int{2, 3} {
				p.Threads = threads
				m := fitOrFatal(t, x, y, p, opt)
				if i := firstDifference(m.Predict(x), want); i >= 0 {
					t.Errorf("Threads %d: predictions differ from Threads 1 at row %d", threads, i)
				}
				if i := firstDifference(m.ValidLoss(), one.ValidLoss()); i >= 0 {
					t.Errorf("Threads %d: validation loss differs from Threads 1 after tree %d", threads, i+1)
				}
			}
		})
	}
}

func TestTrainingScoresMatchPredict(t *testing.T) {
	x, y := telcoLike(2000, 5)
	rng := newRand(6)
	for i := 0; i < 2000; i++ {
		for _, j := range []int{40, 41, 3} {
			if rng.Float64() < 0.15 {
				x.Set(i, j, math.NaN())
			}
		}
	}
	for _, leaves := range []int{0, 8} {
		p := DefaultParams()
		p.Trees = 30
		p.Subsample = 0.6
		p.ColSample = 0.5
		p.MaxLeaves = leaves
		m, score, err := fit(t.Context(), x, y, p, FitOptions{})
		if err != nil {
			t.Fatalf("fit: %v", err)
		}
		// Fit scores out-of-bag rows on bin codes and in-bag rows by their
		// leaf, while Predict uses raw values. All three must agree.
		if i := firstDifference(score, m.Predict(x)); i >= 0 {
			t.Errorf("MaxLeaves %d: training score and prediction differ at row %d", leaves, i)
		}
	}
}

func TestTreeShapeLimits(t *testing.T) {
	x, y := telcoLike(3000, 8)
	tests := []struct {
		name              string
		maxDepth, leaves  int
		wantDepth, wantLf int
	}{
		{"DepthWise", 3, 0, 3, 8},
		{"LeafWise", 0, 5, 4, 5},
		{"LeafWiseWithDepth", 2, 31, 2, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultParams()
			p.Trees = 5
			p.MaxDepth = tc.maxDepth
			p.MaxLeaves = tc.leaves
			p.MinSamplesLeaf = 5
			m := fitOrFatal(t, x, y, p, FitOptions{})
			for k, tr := range m.trees {
				depth, leaves := treeShape(&tr, 0)
				if depth > tc.wantDepth {
					t.Errorf("tree %d has depth %d, want at most %d", k, depth, tc.wantDepth)
				}
				if leaves > tc.wantLf {
					t.Errorf("tree %d has %d leaves, want at most %d", k, leaves, tc.wantLf)
				}
				if leaves < 2 {
					t.Errorf("tree %d has %d leaves, want a split", k, leaves)
				}
			}
		})
	}
}

// treeShape returns the depth and leaf count of the subtree at node i.
func treeShape(t *tree, i int32) (depth, leaves int) {
	nd := t.nodes[i]
	if nd.left < 0 {
		return 0, 1
	}
	dl, ll := treeShape(t, nd.left)
	dr, lr := treeShape(t, nd.right)
	return 1 + max(dl, dr), ll + lr
}

func TestImportanceRanksInformativeFirst(t *testing.T) {
	rng := newRand(21)
	const n, p = 2000, 6
	x := uniformX(rng, n, p, 0, 1)
	y := make([]float64, n)
	for i := range y {
		y[i] = 3*x.At(i, 2) + 0.3*x.At(i, 4) + 0.1*rng.NormFloat64()
	}
	names := []string{"a", "b", "signal", "d", "weak", "f"}
	m := fitOrFatal(t, x, y, DefaultParams(), FitOptions{FeatureNames: names})
	imp := m.Importance()
	var sum float64
	for _, v := range imp {
		sum += v
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("importances sum to %v, want 1", sum)
	}
	if imp["signal"] < 0.8 {
		t.Errorf("importance of signal = %.3f, want > 0.8 (all: %v)", imp["signal"], imp)
	}
	for _, name := range names {
		if name == "signal" || name == "weak" {
			continue
		}
		if imp[name] >= imp["weak"] {
			t.Errorf("importance of noise feature %s = %.4f, not below weak %.4f", name, imp[name], imp["weak"])
		}
	}
}

func TestMissingValuesFollowLearnedSide(t *testing.T) {
	// Feature 0 is 1..40, plus some missing rows. y is 0 up to cut and 10
	// above. The missing rows have the target of one side, so a stump must
	// send them there, and NaN at prediction time too. Without missing
	// training rows, NaN goes to the side with more rows.
	tests := []struct {
		name        string
		cut         int
		missingRows int
		missingY    float64
		defaultLeft bool
		wantNaN     float64
	}{
		{"WithHighSide", 20, 10, 10, false, 10},
		{"WithLowSide", 20, 10, 0, true, 0},
		{"NoneLargerLeft", 30, 0, 0, true, 0},
		{"NoneLargerRight", 10, 0, 0, false, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var data, y []float64
			for v := 1; v <= 40; v++ {
				data = append(data, float64(v))
				if v <= tc.cut {
					y = append(y, 0)
				} else {
					y = append(y, 10)
				}
			}
			for k := 0; k < tc.missingRows; k++ {
				data = append(data, math.NaN())
				y = append(y, tc.missingY)
			}
			x := mat.NewDense(len(y), 1, data)
			p := stumpParams(LossSquared, 1, 1)
			p.Lambda = 1e-6
			m := fitOrFatal(t, x, y, p, FitOptions{})

			root := m.trees[0].nodes[0]
			if want := float64(tc.cut) + 0.5; root.threshold != want || root.defaultLeft != tc.defaultLeft {
				t.Errorf("root = threshold %v default left %v, want %v and %v", root.threshold, root.defaultLeft, want, tc.defaultLeft)
			}
			got := m.Predict(mat.NewDense(1, 1, []float64{math.NaN()}))[0]
			if math.Abs(got-tc.wantNaN) > 1e-4 {
				t.Errorf("prediction for NaN = %v, want %v", got, tc.wantNaN)
			}
		})
	}
}

func TestMissingOnlySplit(t *testing.T) {
	// The target depends only on whether feature 0 is missing, so the one
	// useful split separates missing from present values.
	var data, y []float64
	for i := 0; i < 60; i++ {
		if i%3 == 0 {
			data = append(data, math.NaN())
			y = append(y, 5)
		} else {
			data = append(data, float64(i%7))
			y = append(y, -5)
		}
	}
	x := mat.NewDense(len(y), 1, data)
	p := stumpParams(LossSquared, 1, 1)
	p.Lambda = 1e-6
	m := fitOrFatal(t, x, y, p, FitOptions{})
	probe := mat.NewDense(4, 1, []float64{math.NaN(), 3, math.Inf(1), math.Inf(-1)})
	want := []float64{5, -5, -5, -5}
	for i, v := range m.Predict(probe) {
		if math.Abs(v-want[i]) > 1e-4 {
			t.Errorf("prediction for %v = %v, want %v", probe.At(i, 0), v, want[i])
		}
	}
}

func TestEarlyStoppingKeepsBest(t *testing.T) {
	// Weak signal, deep trees and a high learning rate overfit fast.
	rng := newRand(31)
	makeSet := func(n int) (*mat.Dense, []float64) {
		x := uniformX(rng, n, 5, 0, 1)
		y := make([]float64, n)
		for i := range y {
			y[i] = x.At(i, 0) + rng.NormFloat64()
		}
		return x, y
	}
	xTrain, yTrain := makeSet(600)
	xValid, yValid := makeSet(600)
	p := DefaultParams()
	p.Trees = 300
	p.LearningRate = 0.5
	p.MinSamplesLeaf = 2
	p.EarlyStoppingRounds = 10
	m := fitOrFatal(t, xTrain, yTrain, p, FitOptions{ValidX: xValid, ValidY: yValid})

	losses := m.ValidLoss()
	best := m.NumTrees()
	if best >= p.Trees {
		t.Fatalf("kept %d trees, want early stopping before %d", best, p.Trees)
	}
	if len(losses) != best+p.EarlyStoppingRounds {
		t.Errorf("fitted %d trees for best %d, want best + %d", len(losses), best, p.EarlyStoppingRounds)
	}
	if minLoss := slices.Min(losses); losses[best-1] != minLoss {
		t.Errorf("loss at kept tree %d = %v, minimum %v", best, losses[best-1], minLoss)
	}
	if got := meanLoss(LossSquared, m.Predict(xValid), yValid); math.Abs(got-losses[best-1]) > 1e-12 {
		t.Errorf("validation MSE of the kept model = %v, want %v", got, losses[best-1])
	}

	// Without early stopping every tree stays and the curve is still kept.
	p.EarlyStoppingRounds = 0
	p.Trees = 20
	m = fitOrFatal(t, xTrain, yTrain, p, FitOptions{ValidX: xValid, ValidY: yValid})
	if m.NumTrees() != 20 || len(m.ValidLoss()) != 20 {
		t.Errorf("got %d trees and %d losses, want 20 and 20", m.NumTrees(), len(m.ValidLoss()))
	}
}

func TestModelJSONRoundTrip(t *testing.T) {
	x, y := telcoLike(1500, 41)
	for i := 0; i < 1500; i += 7 {
		x.Set(i, 42, math.NaN())
	}
	p := DefaultParams()
	p.Loss = LossLogistic
	p.Trees = 30
	p.MaxLeaves = 12
	p.Seed = 5
	p.Subsample = 0.8
	names := make([]string, 44)
	for j := range names {
		names[j] = "feature_" + string(rune('A'+j%26)) + string(rune('a'+j/26))
	}
	m := fitOrFatal(t, x, y, p, FitOptions{FeatureNames: names})

	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatalf("Save: %v", err)
	}
	loaded, err := Load(&buf)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if i := firstDifference(m.Predict(x), loaded.Predict(x)); i >= 0 {
		t.Errorf("predictions differ at row %d after the round trip", i)
	}
	if loaded.Params() != p {
		t.Errorf("params = %+v, want %+v", loaded.Params(), p)
	}
	if !slices.Equal(loaded.FeatureNames(), names) {
		t.Errorf("feature names = %v, want %v", loaded.FeatureNames(), names)
	}
	want, got := m.Importance(), loaded.Importance()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("importance of %s = %v after the round trip, want %v", k, got[k], v)
		}
	}
}

func TestLoadRejectsBadModel(t *testing.T) {
	x, y := stepData()
	m := fitOrFatal(t, x, y, stumpParams(LossSquared, 1, 0.1), FitOptions{})
	good, err := m.MarshalJSON()
	if err != nil {
		t.Fatalf("MarshalJSON: %v", err)
	}
	tests := []struct{ name, old, new string }{
		{"Format", `"format":"ecomopti-gbt"`, `"format":"other"`},
		{"Params", `"loss":"squared"`, `"loss":"hinge"`},
		{"ChildBeforeParent", `"left":[1,-1,-1]`, `"left":[0,-1,-1]`},
		{"ChildOutOfRange", `"right":[2,-1,-1]`, `"right":[7,-1,-1]`},
		{"FeatureOutOfRange", `"feature":[0,-1,-1]`, `"feature":[3,-1,-1]`},
		{"ShortArray", `"value":[0,`, `"value":[`},
		{"NoNames", `"feature_names":["x0"]`, `"feature_names":[]`},
		{"NotJSON", `{`, `[`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(string(good), tc.old, tc.new, 1)
			if bad == string(good) {
				t.Fatalf("pattern %s not found in %s", tc.old, good)
			}
			_, err := Load(strings.NewReader(bad))
			if !errors.Is(err, ErrBadModel) {
				t.Errorf("Load error = %v, want ErrBadModel", err)
			}
		})
	}
}

func TestParamsValidate(t *testing.T) {
	tests := []struct {
		field  string
		change func(*Params)
	}{
		{"Loss", func(p *Params) { p.Loss = "" }},
		{"Trees", func(p *Params) { p.Trees = 0 }},
		{"LearningRate", func(p *Params) { p.LearningRate = 0 }},
		{"LearningRate", func(p *Params) { p.LearningRate = math.NaN() }},
		{"MaxDepth", func(p *Params) { p.MaxDepth = -1 }},
		{"MaxLeaves", func(p *Params) { p.MaxLeaves = 1 }},
		{"MinSamplesLeaf", func(p *Params) { p.MinSamplesLeaf = 0 }},
		{"MinHessianLeaf", func(p *Params) { p.MinHessianLeaf = -1 }},
		{"Lambda", func(p *Params) { p.Lambda = math.Inf(1) }},
		{"Lambda and MinHessianLeaf", func(p *Params) { p.Lambda, p.MinHessianLeaf = 0, 0 }},
		{"Subsample", func(p *Params) { p.Subsample = 1.5 }},
		{"ColSample", func(p *Params) { p.ColSample = 0 }},
		{"MaxBins", func(p *Params) { p.MaxBins = 256 }},
		{"MaxBins", func(p *Params) { p.MaxBins = 1 }},
		{"EarlyStoppingRounds", func(p *Params) { p.EarlyStoppingRounds = -1 }},
		{"Threads", func(p *Params) { p.Threads = -2 }},
	}
	if err := DefaultParams().Validate(); err != nil {
		t.Fatalf("DefaultParams().Validate() = %v", err)
	}
	for _, tc := range tests {
		p := DefaultParams()
		tc.change(&p)
		err := p.Validate()
		if !errors.Is(err, ErrInvalidParams) {
			t.Errorf("%s: Validate() = %v, want ErrInvalidParams", tc.field, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.field+" ") {
			t.Errorf("%s: error %q does not name the field", tc.field, err)
		}
	}
}

func TestFitRejectsBadInput(t *testing.T) {
	x, y := stepData()
	sq := stumpParams(LossSquared, 1, 0.1)
	logit := stumpParams(LossLogistic, 1, 0.1)
	withES := sq
	withES.EarlyStoppingRounds = 3
	inf := mat.DenseCopyOf(x)
	inf.Set(3, 0, math.Inf(1))
	tests := []struct {
		name string
		x    *mat.Dense
		y    []float64
		p    Params
		opt  FitOptions
		want string
	}{
		{"ShortY", x, y[:9], sq, FitOptions{}, "9 targets"},
		{"NaNTarget", x, append(slices.Clone(y[:9]), math.NaN()), sq, FitOptions{}, "y[9] is NaN"},
		{"NonBinaryTarget", x, y, logit, FitOptions{}, "want 0 or 1"},
		{"InfFeature", inf, y, sq, FitOptions{}, "x[3, 0] is +Inf"},
		{"NameCount", x, y, sq, FitOptions{FeatureNames: []string{"a", "b"}}, "2 feature names"},
		{"EmptyName", x, y, sq, FitOptions{FeatureNames: []string{""}}, "empty or repeated"},
		{"EarlyStoppingWithoutValid", x, y, withES, FitOptions{}, "needs a validation set"},
		{"ValidColumns", x, y, sq, FitOptions{ValidX: mat.NewDense(2, 2, nil), ValidY: []float64{1, 2}}, "2 columns"},
		{"ValidTargets", x, y, sq, FitOptions{ValidX: mat.NewDense(2, 1, nil), ValidY: []float64{1}}, "ValidY has 1 targets"},
		{"ValidYOnly", x, y, sq, FitOptions{ValidY: []float64{1}}, "ValidX is nil"},
		{"BadParams", x, y, Params{}, FitOptions{}, "invalid params: Loss"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Fit(t.Context(), tc.x, tc.y, tc.p, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Fit error = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := Fit(t.Context(), mat.NewDense(1, 1, nil), []float64{1}, sq, FitOptions{}); err != nil {
		t.Errorf("Fit on one row: %v", err)
	}
	if _, err := Fit(t.Context(), nil, nil, sq, FitOptions{}); !errors.Is(err, learn.ErrEmpty) {
		t.Errorf("Fit on nil x = %v, want learn.ErrEmpty", err)
	}
}

func TestFitCanceled(t *testing.T) {
	x, y := stepData()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Fit(ctx, x, y, stumpParams(LossSquared, 5, 0.1), FitOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Fit with a canceled context = %v, want context.Canceled", err)
	}
}

func TestFitterMatchesFit(t *testing.T) {
	x, y := telcoLike(800, 51)
	p := DefaultParams()
	p.Loss = LossLogistic
	p.Trees = 20
	predict, err := Fitter(p)(t.Context(), x, y)
	if err != nil {
		t.Fatalf("Fitter: %v", err)
	}
	want := fitOrFatal(t, x, y, p, FitOptions{}).Predict(x)
	if i := firstDifference(predict(x), want); i >= 0 {
		t.Errorf("Fitter and Fit predictions differ at row %d", i)
	}
	p.Trees = 0
	if _, err := Fitter(p)(t.Context(), x, y); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("Fitter with Trees 0 = %v, want ErrInvalidParams", err)
	}
}

func TestBinEdges(t *testing.T) {
	tests := []struct {
		name    string
		values  []float64
		maxBins int
		want    []float64
	}{
		{"Constant", []float64{2, 2, 2}, 10, nil},
		{"Empty", nil, 10, nil},
		{"FewDistinct", []float64{0, 0, 1, 1, 1, 3}, 10, []float64{0.5, 2}},
		// Ten rows into at most 5 bins: two rows per bin.
		{"Quantile", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 5, []float64{2.5, 4.5, 6.5, 8.5}},
		// A heavy value fills the first bin; the rest share what is left.
		{"HeavyValue", []float64{0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, 3, []float64{0.5, 2.5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := binEdges(tc.values, tc.maxBins)
			if !slices.Equal(got, tc.want) {
				t.Errorf("binEdges = %v, want %v", got, tc.want)
			}
		})
	}

	// Many distinct values: at most MaxBins bins of about equal size, and
	// codes that agree with the edges.
	rng := newRand(61)
	const n = 10000
	x := uniformX(rng, n, 1, -5, 5)
	x.Set(0, 0, math.NaN())
	mapper := fitBins(x, 255, 2)
	edges := mapper.upper[0]
	if len(edges) != 254 {
		t.Errorf("got %d edges for 255 bins, want 254", len(edges))
	}
	counts := make([]int, 256)
	for i := 0; i < n; i++ {
		v := x.At(i, 0)
		c := int(mapper.code(0, v))
		counts[c]++
		if math.IsNaN(v) {
			if c != 255 {
				t.Errorf("NaN has code %d, want 255", c)
			}
			continue
		}
		if c < len(edges) && v > edges[c] || c > 0 && v <= edges[c-1] {
			t.Errorf("value %v has code %d outside its edges", v, c)
		}
	}
	for b, c := range counts[:255] {
		if c < 30 || c > 50 {
			t.Errorf("bin %d holds %d rows, want about %d", b, c, n/255)
		}
	}
}

func TestPredictWithoutTrees(t *testing.T) {
	m := &Model{params: DefaultParams(), names: []string{"a"}, base: 2.5}
	got := m.Predict(mat.NewDense(2, 1, []float64{1, math.NaN()}))
	if !slices.Equal(got, []float64{2.5, 2.5}) {
		t.Errorf("Predict = %v, want the base score", got)
	}
	if imp := m.Importance(); imp["a"] != 0 {
		t.Errorf("Importance = %v, want a: 0", imp)
	}
}
