package survival

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// handData is the training data of the hand-checked forest tests: times
// 1, 2, 2, 3, 5 months with events 1, 1, 0, 1, 0 and one feature.
func handData(feature []float64) *rsfData {
	time := []float64{1, 2, 2, 3, 5}
	event := []float64{1, 1, 0, 1, 0}
	x := mat.NewDense(len(time), 1, feature)
	d := &rsfData{
		n: len(time), p: 1,
		bins: binColumns(x, 255),
		// Distinct times 1, 2, 3, 5; event times 1, 2, 3.
		time:     []int32{0, 1, 1, 2, 3},
		event:    event,
		eventIdx: []int32{0, 1, 2, -1},
		nTimes:   4, nEvents: 3,
	}
	d.codes = d.bins.codes(x)
	return d
}

func TestRSFLeafNelsonAalen(t *testing.T) {
	d := handData([]float64{0, 0, 0, 0, 0})
	g := newRSFGrower(d, DefaultRSFConfig(), 1)
	// Bootstrap weights: the event at 2 months was drawn twice.
	copy(g.weight, []float64{1, 2, 1, 1, 1})
	l := g.leaf([]int32{0, 1, 2, 3, 4})

	// At risk 6, 5 and 2 at months 1, 2 and 3, with 1, 2 and 1 events.
	want := []float64{1.0 / 6, 1.0/6 + 2.0/5, 1.0/6 + 2.0/5 + 1.0/2}
	if len(l.chf) != len(want) {
		t.Fatalf("leaf has %d steps %v, want %d", len(l.chf), l.chf, len(want))
	}
	for k := range want {
		if math.Abs(l.chf[k]-want[k]) > 1e-15 || l.times[k] != int32(k) {
			t.Errorf("step %d: time %d hazard %v, want time %d hazard %v", k, l.times[k], l.chf[k], k, want[k])
		}
	}
	if wantRisk := want[0] + want[1] + want[2]; math.Abs(l.risk-wantRisk) > 1e-15 {
		t.Errorf("risk %v, want %v", l.risk, wantRisk)
	}
	// Before the first event time, between steps, and after the last.
	for _, tc := range []struct {
		steps int32
		want  float64
	}{{0, 0}, {1, want[0]}, {2, want[1]}, {3, want[2]}} {
		if got := l.at(tc.steps); got != tc.want {
			t.Errorf("at(%d) = %v, want %v", tc.steps, got, tc.want)
		}
	}
}

// logRankDirect returns |U|/sqrt(V) of the log-rank test of left against
// the other rows, summing over the event times as in its definition.
func logRankDirect(d *rsfData, weight []float64, rows []int32, left map[int32]bool) float64 {
	var u, v float64
	for t := 0; t < d.nTimes; t++ {
		var y, yl, dt, dl float64
		for _, r := range rows {
			w := weight[r]
			if int(d.time[r]) >= t {
				y += w
				if left[r] {
					yl += w
				}
			}
			if int(d.time[r]) == t && d.event[r] == 1 {
				dt += w
				if left[r] {
					dl += w
				}
			}
		}
		if dt == 0 {
			continue
		}
		u += dl - yl*dt/y
		if y > 1 {
			v += yl / y * (1 - yl/y) * dt * (y - dt) / (y - 1)
		}
	}
	return math.Abs(u) / math.Sqrt(v)
}

func TestRSFLogRankMatchesDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 300
	frame := simulateCox(t, n, []float64{0.8}, 0.1, 0.05, 5)
	// Round the times so that they tie, and cut the feature to 8 values.
	for i := range frame.Tenure {
		frame.Tenure[i] = math.Ceil(frame.Tenure[i])
		frame.X.Set(i, 0, math.Round(4*frame.X.At(i, 0)))
	}
	// Score the root of a bootstrap sample, as one tree of FitRSF would.
	_, d, err := newRSFData(frame, 255)
	if err != nil {
		t.Fatal(err)
	}
	g := newRSFGrower(d, DefaultRSFConfig(), 1)
	for range n {
		g.weight[rng.IntN(n)]++
	}
	var rows []int32
	for i, w := range g.weight {
		if w > 0 {
			rows = append(rows, int32(i))
		}
	}
	got, ok := g.bestSplit(rows, rng)
	if !ok {
		t.Fatal("no split found at the root")
	}

	// Try every threshold directly.
	best, bestBin := 0.0, -1
	for b := 0; b < len(d.bins.edges[0]); b++ {
		left := map[int32]bool{}
		var wl, wr float64
		for _, r := range rows {
			if int(d.codes[0][r]) <= b {
				left[r] = true
				wl += g.weight[r]
			} else {
				wr += g.weight[r]
			}
		}
		if wl < 5 || wr < 5 {
			continue
		}
		if s := logRankDirect(d, g.weight, rows, left); s > best {
			best, bestBin = s, b
		}
	}
	if got.bin != bestBin || math.Abs(got.stat-best) > 1e-9*best {
		t.Errorf("bestSplit = bin %d stat %.12f, direct search gives bin %d stat %.12f", got.bin, got.stat, bestBin, best)
	}
}

func TestRSFSameForAnyThreads(t *testing.T) {
	train := simulateTelco(t, 800, 11)
	test := simulateTelco(t, 300, 12)
	cfg := DefaultRSFConfig()
	cfg.Trees = 12
	times := []float64{3, 6, 24}

	cfg.Threads = 1
	serial, err := FitRSF(context.Background(), train, cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	riskSerial, chfSerial, err := serial.Predict(test, times)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Threads = 3
	parallel, err := FitRSF(context.Background(), train, cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	riskParallel, chfParallel, err := parallel.Predict(test, times)
	if err != nil {
		t.Fatal(err)
	}
	for i := range riskSerial {
		if riskSerial[i] != riskParallel[i] {
			t.Fatalf("row %d: risk %v with 1 thread, %v with 3", i, riskSerial[i], riskParallel[i])
		}
		for k := range times {
			if chfSerial[k][i] != chfParallel[k][i] {
				t.Fatalf("row %d time %v: hazard %v with 1 thread, %v with 3", i, times[k], chfSerial[k][i], chfParallel[k][i])
			}
		}
	}

	// Tree k depends only on the seed and k, not on the trees that its
	// goroutine grew before.
	_, data, err := newRSFData(train, cfg.MaxBins)
	if err != nil {
		t.Fatal(err)
	}
	for k := range parallel.trees {
		fresh := newRSFGrower(data, cfg, 3).grow(rand.New(rand.NewPCG(7, uint64(k))))
		if !reflect.DeepEqual(fresh, parallel.trees[k]) {
			t.Errorf("tree %d differs from the tree a fresh grower makes with its seed", k)
		}
	}

	// Another seed gives another forest.
	other, err := FitRSF(context.Background(), train, cfg, 8)
	if err != nil {
		t.Fatal(err)
	}
	riskOther, _, err := other.Predict(test, times)
	if err != nil {
		t.Fatal(err)
	}
	same := true
	for i := range riskSerial {
		same = same && riskSerial[i] == riskOther[i]
	}
	if same {
		t.Error("seeds 7 and 8 grew identical forests")
	}
}

func TestRSFHazardMonotone(t *testing.T) {
	train := simulateTelco(t, 600, 21)
	cfg := DefaultRSFConfig()
	cfg.Trees = 10
	f, err := FitRSF(context.Background(), train, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	times := []float64{-1, 0, 1, 6, 12, 36, 72, 1000}
	_, chf, err := f.Predict(train, times)
	if err != nil {
		t.Fatal(err)
	}
	for i := range chf[0] {
		if chf[0][i] != 0 {
			t.Fatalf("row %d: hazard %v before any event time, want 0", i, chf[0][i])
		}
		for k := 1; k < len(times); k++ {
			if chf[k][i] < chf[k-1][i] || math.IsNaN(chf[k][i]) {
				t.Fatalf("row %d: hazard falls from %v at %v months to %v at %v", i, chf[k-1][i], times[k-1], chf[k][i], times[k])
			}
		}
	}
}

func TestRunForestMetrics(t *testing.T) {
	res, _ := runSynthetic(t)
	m := res.Metrics.RSF
	if m == nil {
		t.Fatal("no forest metrics with the default config")
	}
	if m.Trees != 100 {
		t.Errorf("forest has %d trees, want the default 100", m.Trees)
	}
	for _, split := range []string{dataset.Val, dataset.Test} {
		// Contract and fibre drive the simulated hazard, so the forest
		// orders churn well, a little below the Cox model that matches
		// the simulation.
		c, ok := m.CIndex[split]
		if !ok || c < 0.65 || c > res.Metrics.Cox.CIndex[split]+0.02 {
			t.Errorf("%s: forest C-index %v (defined %v), want in [0.65, Cox %.4f + 0.02]",
				split, c, ok, res.Metrics.Cox.CIndex[split])
		}
		ibs, ok := m.IBS[split]
		if !ok || ibs <= 0 || ibs > 0.25 {
			t.Errorf("%s: forest IBS %v (defined %v), want in (0, 0.25]", split, ibs, ok)
		}
		if _, ok := m.Brier[split]; !ok {
			t.Errorf("%s: no forest Brier score", split)
		}
	}

	// Zero trees skip the forest.
	frames := map[string]*dataset.Frame{
		dataset.Train: simulateTelco(t, 400, 1),
		dataset.Val:   simulateTelco(t, 100, 2),
		dataset.Test:  simulateTelco(t, 100, 3),
	}
	cfg := DefaultConfig()
	cfg.RSF.Trees = 0
	out, err := Run(context.Background(), frames[dataset.Train], frames[dataset.Val], frames[dataset.Test], cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	if out.Metrics.RSF != nil {
		t.Errorf("forest metrics %+v with 0 trees, want none", out.Metrics.RSF)
	}
}

func TestRSFConfigErrors(t *testing.T) {
	train := simulateTelco(t, 50, 1)
	for _, cfg := range []RSFConfig{
		{Trees: -1, MinSamplesSplit: 10, MinSamplesLeaf: 5, MaxBins: 255},
		{Trees: 10, MinSamplesSplit: 6, MinSamplesLeaf: 5, MaxBins: 255},
		{Trees: 10, MinSamplesSplit: 10, MinSamplesLeaf: 0, MaxBins: 255},
		{Trees: 10, MinSamplesSplit: 10, MinSamplesLeaf: 5, MaxBins: 300},
	} {
		if _, err := FitRSF(context.Background(), train, cfg, 1); !errors.Is(err, ErrConfig) {
			t.Errorf("FitRSF(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
}
