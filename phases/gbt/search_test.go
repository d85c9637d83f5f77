package gbt

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"
)

// smallSpace keeps the searches of the tests fast.
func smallSpace() SearchSpace {
	s := DefaultSearchSpace()
	s.TreesMin, s.TreesMax = 20, 60
	return s
}

func TestSearchSameForAnyThreads(t *testing.T) {
	x, y := telcoLike(900, 11)
	base := DefaultParams()
	base.Loss = LossLogistic
	cfg := SearchConfig{Trials: 4, Folds: 3, Seed: 7, EarlyStoppingRounds: 10, Threads: 1}
	serial, err := Search(t.Context(), x, y, base, smallSpace(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Threads = 3
	parallel, err := Search(t.Context(), x, y, base, smallSpace(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	serial.Config.Threads = parallel.Config.Threads
	if !reflect.DeepEqual(serial, parallel) {
		t.Errorf("search differs between 1 and 3 threads:\n%+v\n%+v", serial, parallel)
	}
}

func TestSearchTrialsWithinSpace(t *testing.T) {
	x, y := telcoLike(900, 12)
	base := DefaultParams()
	base.Loss = LossLogistic
	base.Threads = 1
	space := smallSpace()
	cfg := SearchConfig{Trials: 6, Folds: 3, Seed: 8, EarlyStoppingRounds: 10}
	res, err := Search(t.Context(), x, y, base, space, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Trials) != cfg.Trials {
		t.Fatalf("%d trials, want %d", len(res.Trials), cfg.Trials)
	}

	// Every trial lies in the space and restores the base settings.
	best := math.Inf(1)
	for k, tr := range res.Trials {
		p := tr.Params
		switch {
		case tr.DrawnTrees < space.TreesMin || tr.DrawnTrees > space.TreesMax:
			t.Errorf("trial %d: drawn trees %d outside [%d, %d]", k, tr.DrawnTrees, space.TreesMin, space.TreesMax)
		case p.Trees < 1 || p.Trees > tr.DrawnTrees:
			t.Errorf("trial %d: chosen trees %d outside [1, %d]", k, p.Trees, tr.DrawnTrees)
		case p.LearningRate < space.LearningRateMin || p.LearningRate > space.LearningRateMax:
			t.Errorf("trial %d: learning rate %v outside the space", k, p.LearningRate)
		case p.Subsample < space.SubsampleMin || p.Subsample > space.SubsampleMax,
			p.ColSample < space.ColSampleMin || p.ColSample > space.ColSampleMax:
			t.Errorf("trial %d: subsample %v or col sample %v outside the space", k, p.Subsample, p.ColSample)
		case p.MaxDepth < space.MaxDepthMin || p.MaxDepth > space.MaxDepthMax:
			t.Errorf("trial %d: depth %d outside the space", k, p.MaxDepth)
		case p.MinSamplesLeaf < space.MinSamplesLeafMin || p.MinSamplesLeaf > space.MinSamplesLeafMax:
			t.Errorf("trial %d: leaf size %d outside the space", k, p.MinSamplesLeaf)
		case p.Lambda < space.LambdaMin || p.Lambda > space.LambdaMax:
			t.Errorf("trial %d: lambda %v outside the space", k, p.Lambda)
		case p.EarlyStoppingRounds != 0 || p.Threads != base.Threads || p.Loss != base.Loss:
			t.Errorf("trial %d: params %+v do not restore the base settings", k, p)
		}
		best = math.Min(best, tr.CVLoss)
	}

	// The result is the best trial.
	if res.CVLoss != best {
		t.Errorf("result loss %v, want the lowest trial loss %v", res.CVLoss, best)
	}
	// The label is a logistic function of a few columns, so the best
	// trial must beat the log-loss of predicting the base rate.
	var rate float64
	for _, v := range y {
		rate += v
	}
	rate /= float64(len(y))
	constant := -(rate*math.Log(rate) + (1-rate)*math.Log(1-rate))
	if res.CVLoss > constant-0.02 {
		t.Errorf("best cross-validated log-loss %.4f, want below %.4f (the base rate's) by 0.02", res.CVLoss, constant)
	}
}

// TestSearchRegressionEarlyStopping checks the tree count picked by the
// held-out loss curve: with a learning rate of 0.3 on pure noise the
// curve is lowest after few trees.
func TestSearchRegressionEarlyStopping(t *testing.T) {
	rng := newRand(13)
	x := uniformX(rng, 600, 3, 0, 1)
	y := make([]float64, 600)
	for i := range y {
		y[i] = rng.NormFloat64()
	}
	space := smallSpace()
	space.TreesMin, space.TreesMax = 200, 200
	space.LearningRateMin, space.LearningRateMax = 0.3, 0.3
	space.MinSamplesLeafMin, space.MinSamplesLeafMax = 5, 5
	space.LambdaMin, space.LambdaMax = 0.01, 0.01
	res, err := Search(t.Context(), x, y, DefaultParams(), space, SearchConfig{Trials: 1, Folds: 3, Seed: 1, EarlyStoppingRounds: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Best.Trees; got > 20 {
		t.Errorf("chose %d trees on noise, want at most 20", got)
	}
	// Without early stopping the drawn count is kept.
	res, err = Search(t.Context(), x, y, DefaultParams(), space, SearchConfig{Trials: 1, Folds: 3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Best.Trees != 200 {
		t.Errorf("chose %d trees without early stopping, want the drawn 200", res.Best.Trees)
	}
}

func TestChooseTrees(t *testing.T) {
	curves := [][]float64{
		{5, 4, 3, 3.5},
		{6, 3, 2}, // stopped early: its last value counts after tree 3
	}
	// Means: 5.5, 3.5, 2.5, 2.75, 2.75.
	trees, loss := chooseTrees(curves, 5, true)
	if trees != 3 || loss != 2.5 {
		t.Errorf("chooseTrees = (%d, %v), want (3, 2.5)", trees, loss)
	}
	trees, loss = chooseTrees(curves, 4, false)
	if trees != 4 || loss != 2.75 {
		t.Errorf("chooseTrees without picking = (%d, %v), want (4, 2.75)", trees, loss)
	}
}

func TestCVFoldsStratified(t *testing.T) {
	y := make([]float64, 100)
	for i := 0; i < 30; i++ {
		y[i*3] = 1
	}
	folds := cvFolds(y, 3, true, newRand(1))
	ones, rows := make([]int, 3), make([]int, 3)
	for i, f := range folds {
		rows[f]++
		ones[f] += int(y[i])
	}
	for k := range 3 {
		if ones[k] != 10 {
			t.Errorf("fold %d has %d of the 30 positives, want 10", k, ones[k])
		}
		if rows[k] < 33 || rows[k] > 34 {
			t.Errorf("fold %d has %d rows, want 33 or 34", k, rows[k])
		}
	}
}

func TestSearchRejectsBadConfig(t *testing.T) {
	x, y := telcoLike(100, 1)
	tests := []struct {
		name  string
		space func(*SearchSpace)
		cfg   SearchConfig
	}{
		{"NoTrials", nil, SearchConfig{Trials: 0, Folds: 3}},
		{"OneFold", nil, SearchConfig{Trials: 1, Folds: 1}},
		{"TreesReversed", func(s *SearchSpace) { s.TreesMin, s.TreesMax = 50, 10 }, SearchConfig{Trials: 1, Folds: 2}},
		{"LambdaZero", func(s *SearchSpace) { s.LambdaMin = 0 }, SearchConfig{Trials: 1, Folds: 2}},
		{"SubsampleAboveOne", func(s *SearchSpace) { s.SubsampleMax = 1.5 }, SearchConfig{Trials: 1, Folds: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			space := smallSpace()
			if tc.space != nil {
				tc.space(&space)
			}
			p := DefaultParams()
			p.Loss = LossLogistic
			if _, err := Search(t.Context(), x, y, p, space, tc.cfg); !errors.Is(err, ErrInvalidParams) {
				t.Errorf("Search = %v, want ErrInvalidParams", err)
			}
		})
	}
}

func TestSelectorRecordsChoice(t *testing.T) {
	x, y := telcoLike(600, 14)
	base := DefaultParams()
	base.Loss = LossLogistic
	base.Trees = 30

	// Without trials the base parameters are used, with the given seed.
	fit, choice, err := Selector(base, smallSpace(), SearchConfig{})(t.Context(), x, y, 99)
	if err != nil {
		t.Fatal(err)
	}
	var p Params
	if err := json.Unmarshal(choice.Params, &p); err != nil {
		t.Fatal(err)
	}
	want := base
	want.Seed = 99
	if choice.Learner != "gbt" || p != want || choice.Search != nil {
		t.Errorf("choice without search = %+v (params %+v), want gbt with %+v", choice, p, want)
	}
	predict, err := fit(t.Context(), x, y)
	if err != nil {
		t.Fatal(err)
	}
	m := fitOrFatal(t, x, y, want, FitOptions{})
	if i := firstDifference(predict(x), m.Predict(x)); i >= 0 {
		t.Errorf("selected fit differs from Fit with the base params at row %d", i)
	}

	// With trials the best parameters of the search are used and saved.
	cfg := SearchConfig{Trials: 3, Folds: 2, EarlyStoppingRounds: 5}
	_, choice, err = Selector(base, smallSpace(), cfg)(t.Context(), x, y, 5)
	if err != nil {
		t.Fatal(err)
	}
	var res SearchResult
	if err := json.Unmarshal(choice.Search, &res); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(choice.Params, &p); err != nil {
		t.Fatal(err)
	}
	if len(res.Trials) != 3 || res.Config.Seed != 5 || p != res.Best {
		t.Errorf("search record %+v with params %+v, want 3 trials, seed 5 and the best params", res, p)
	}
}

func TestSearchCanceled(t *testing.T) {
	x, y := telcoLike(300, 15)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	p := DefaultParams()
	p.Loss = LossLogistic
	if _, err := Search(ctx, x, y, p, smallSpace(), DefaultSearchConfig()); !errors.Is(err, context.Canceled) {
		t.Errorf("Search with a canceled context = %v, want context.Canceled", err)
	}
}
