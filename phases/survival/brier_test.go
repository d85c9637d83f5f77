package survival

import (
	"math"
	"testing"
)

// Five rows (time, event): (1,E) (2,E) (2,C) (3,E) (4,C).
var (
	smallTime  = []float64{1, 2, 2, 3, 4}
	smallEvent = []float64{1, 1, 0, 1, 0}
)

func TestKaplanMeierHand(t *testing.T) {
	// S = 4/5 after t=1, x 3/4 after t=2, x 1/2 after t=3, x 1 after t=4.
	want := []KMPoint{
		{Time: 1, Survival: 0.8, AtRisk: 5, Events: 1},
		{Time: 2, Survival: 0.6, AtRisk: 4, Events: 1, Censored: 1},
		{Time: 3, Survival: 0.3, AtRisk: 2, Events: 1},
		{Time: 4, Survival: 0.3, AtRisk: 1, Censored: 1},
	}
	got := kaplanMeier(smallTime, smallEvent)
	if len(got) != len(want) {
		t.Fatalf("got %d points, want %d", len(got), len(want))
	}
	for k := range want {
		g, w := got[k], want[k]
		if g.Time != w.Time || g.AtRisk != w.AtRisk || g.Events != w.Events || g.Censored != w.Censored ||
			!near(g.Survival, w.Survival, 1e-12) {
			t.Errorf("point %d = %+v, want %+v", k, g, w)
		}
	}
}

func TestCensoringKMHand(t *testing.T) {
	// The censoring at t=2 happens after that time's churn, so its risk
	// set is 4 - 1 = 3: G = 2/3 from t=2. At t=4 the last row is censored:
	// G = 0 from t=4.
	g := censoringKM(smallTime, smallEvent)
	cases := []struct{ t, at, before float64 }{
		{0.5, 1, 1}, {2, 2.0 / 3, 1}, {3, 2.0 / 3, 2.0 / 3}, {4, 0, 2.0 / 3}, {9, 0, 0},
	}
	for _, c := range cases {
		if got := g.at(c.t); !near(got, c.at, 1e-12) {
			t.Errorf("G(%v) = %v, want %v", c.t, got, c.at)
		}
		if got := g.before(c.t); !near(got, c.before, 1e-12) {
			t.Errorf("G(%v-) = %v, want %v", c.t, got, c.before)
		}
	}
}

func TestBrierScoreHand(t *testing.T) {
	fu := newFollowUp(smallTime, censoringKM(smallTime, smallEvent))
	surv := []float64{0.2, 0.4, 0.6, 0.7, 0.9}
	cases := []struct {
		name string
		t    float64
		want float64
		ok   bool
	}{
		// t=2.5: churned rows 1-2 add s^2/G(T-) = 0.04 + 0.16, row 3 is
		// censored before t and adds 0, rows 4-5 add (1-s)^2/G(2.5) =
		// (0.09 + 0.01) / (2/3). Mean over 5 rows: 0.35 / 5.
		{"Inside", 2.5, 0.07, true},
		// t=3.5: row 4 churned at 3 and adds 0.49 / G(3-) = 0.735.
		{"AfterThirdEvent", 3.5, (0.04 + 0.16 + 0.735 + 0.015) / 5, true},
		{"AtLastTime", 4, 0, false},
		{"BeforeFirstTime", 0.5, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := brierScore(smallTime, smallEvent, surv, c.t, fu)
			if ok != c.ok || !near(got, c.want, 1e-12) {
				t.Fatalf("Brier(%v) = %v (ok %v), want %v (ok %v)", c.t, got, ok, c.want, c.ok)
			}
		})
	}
}

func TestIntegratedBrierTrapezoid(t *testing.T) {
	fu := newFollowUp(smallTime, censoringKM(smallTime, smallEvent))
	surv := func(float64) []float64 { return []float64{0.2, 0.4, 0.6, 0.7, 0.9} }
	// Brier scores 0.07 at 2.5 and 0.19 at 3.5 (see TestBrierScoreHand),
	// so the trapezoidal mean over [2.5, 3.5] is 0.13.
	got, err := integratedBrier(smallTime, smallEvent, []float64{2.5, 3.5}, fu, surv)
	if err != nil || !near(got, 0.13, 1e-12) {
		t.Fatalf("IBS = %v (err %v), want 0.13", got, err)
	}
	if _, err := integratedBrier(smallTime, smallEvent, []float64{2.5, 4}, fu, surv); err == nil {
		t.Fatal("IBS over a grid reaching the last time: err = nil")
	}
}

func TestIBSGrid(t *testing.T) {
	t.Run("Inside", func(t *testing.T) {
		fu := newFollowUp(smallTime, censoringKM(smallTime, smallEvent))
		// Event times 1, 2, 3: 5th percentile 1.1, 95th 2.9.
		grid, ok := ibsGrid(smallTime, smallEvent, 15, fu)
		if !ok || grid.Clipped {
			t.Fatalf("ok = %v, clipped = %v, want ok and not clipped", ok, grid.Clipped)
		}
		if len(grid.Times) != 15 || !near(grid.Times[0], 1.1, 1e-12) || !near(grid.Times[14], 2.9, 1e-12) {
			t.Fatalf("grid = %v, want 15 points from 1.1 to 2.9", grid.Times)
		}
	})
	t.Run("ClippedByCensoring", func(t *testing.T) {
		// Training censoring: G = 1/2 from t=2 and 0 from t=6.
		cens := censoringKM([]float64{1, 2, 6}, []float64{1, 0, 0})
		time, event := []float64{1, 2, 3, 10, 10}, []float64{1, 1, 1, 1, 0}
		fu := newFollowUp(time, cens)
		// The 95th percentile of 1, 2, 3, 10 is 8.95, where G = 0; the
		// largest observed time with G > 0 is 3.
		grid, ok := ibsGrid(time, event, 15, fu)
		if !ok || !grid.Clipped {
			t.Fatalf("ok = %v, clipped = %v, want both true", ok, grid.Clipped)
		}
		if !near(grid.Times[0], 1.15, 1e-12) || grid.Times[14] != 3 {
			t.Fatalf("grid = %v, want 1.15 to 3", grid.Times)
		}
		surv := func(float64) []float64 { return []float64{0.5, 0.5, 0.5, 0.5, 0.5} }
		ibs, err := integratedBrier(time, event, grid.Times, fu, surv)
		if err != nil || math.IsNaN(ibs) || math.IsInf(ibs, 0) {
			t.Fatalf("IBS on the clipped grid = %v, err %v", ibs, err)
		}
	})
	t.Run("NoEvents", func(t *testing.T) {
		fu := newFollowUp(smallTime, censoringKM(smallTime, smallEvent))
		if _, ok := ibsGrid(smallTime, make([]float64, 5), 15, fu); ok {
			t.Fatal("grid without events: ok = true")
		}
	})
}

func TestQuantileBins(t *testing.T) {
	score := []float64{9, 1, 8, 2, 7, 3, 6, 4, 5, 0}
	bins := quantileBins(score, 3)
	wantSizes := []int{3, 3, 4}
	for b, rows := range bins {
		if len(rows) != wantSizes[b] {
			t.Fatalf("bin %d has %d rows, want %d", b, len(rows), wantSizes[b])
		}
	}
	// Lowest scores 0, 1, 2 are rows 9, 1, 3.
	if bins[0][0] != 9 || bins[0][1] != 1 || bins[0][2] != 3 {
		t.Errorf("first bin rows = %v, want [9 1 3]", bins[0])
	}
	if got := quantileBins(score, 20); len(got) != 10 {
		t.Errorf("20 bins of 10 rows gave %d bins, want 10", len(got))
	}
}

func TestCalibrationTable(t *testing.T) {
	// Two bins of two rows each. Bin 1 (s = 0.2, 0.4): rows churned at 1
	// and 8 months, so KM at 6 months is 1/2. Bin 2 (s = 0.8, 0.9): both
	// survive past 6, so KM is 1.
	time := []float64{1, 8, 7, 9}
	event := []float64{1, 1, 0, 0}
	s := []float64{0.2, 0.4, 0.8, 0.9}
	table := calibrationTable(time, event, s, 6, 2)
	if len(table) != 2 {
		t.Fatalf("got %d bins, want 2", len(table))
	}
	want := []struct {
		mean, observed float64
		events         int
	}{{0.3, 0.5, 1}, {0.85, 1, 0}}
	for b, w := range want {
		got := table[b]
		if got.Count != 2 || !near(got.MeanPredicted, w.mean, 1e-12) || got.Events != w.events {
			t.Errorf("bin %d = %+v, want count 2, mean %v, events %d", b+1, got, w.mean, w.events)
		}
		if got.Observed == nil || !near(*got.Observed, w.observed, 1e-12) {
			t.Errorf("bin %d observed = %v, want %v", b+1, got.Observed, w.observed)
		}
	}

	short := calibrationTable([]float64{1, 2}, []float64{0, 0}, []float64{0.5, 0.6}, 6, 1)
	if short[0].Observed != nil {
		t.Errorf("follow-up ends at 2 months but observed = %v, want nil", *short[0].Observed)
	}
}

func TestRiskDecileCurves(t *testing.T) {
	f := simulateCox(t, 1000, []float64{1.5}, 0.1, 0.05, 4)
	risk := make([]float64, f.Len())
	for i := range risk {
		risk[i] = f.X.At(i, 0)
	}
	curves := riskDecileCurves(f.Tenure, f.Event, risk, 10)
	if len(curves) != 10 {
		t.Fatalf("got %d curves, want 10", len(curves))
	}
	// With a strong effect the highest-risk decile loses customers much
	// faster: compare the KM estimates at 5 months.
	at := func(c RiskGroupCurve, tm float64) float64 {
		s := 1.0
		for _, p := range c.Points {
			if p.Time > tm {
				break
			}
			s = p.Survival
		}
		return s
	}
	low, high := at(curves[0], 5), at(curves[9], 5)
	if !(low > high+0.3) {
		t.Errorf("S(5) lowest-risk decile %v, highest %v: want a gap over 0.3", low, high)
	}
	for k := 1; k < 10; k++ {
		if curves[k].MinRisk < curves[k-1].MaxRisk {
			t.Errorf("decile %d starts at risk %v below the previous maximum %v", k+1, curves[k].MinRisk,
				curves[k-1].MaxRisk)
		}
	}
}
