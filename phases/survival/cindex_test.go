package survival

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

func TestCIndexTieRules(t *testing.T) {
	cases := []struct {
		name        string
		time, event []float64
		risk        []float64
		want        float64
		ok          bool
	}{
		// A shorter event time with the higher risk is concordant.
		{"EarlierEventHigherRisk", []float64{1, 2}, []float64{1, 0}, []float64{2, 1}, 1, true},
		{"EarlierEventLowerRisk", []float64{1, 2}, []float64{1, 0}, []float64{1, 2}, 0, true},
		// A pair whose shorter time is censored is not comparable.
		{"EarlierCensored", []float64{1, 2}, []float64{0, 1}, []float64{2, 1}, 0, false},
		// At equal times an event is earlier than a censored customer.
		{"EqualTimeEventCensored", []float64{3, 3}, []float64{1, 0}, []float64{2, 1}, 1, true},
		{"EqualTimeCensoredEvent", []float64{3, 3}, []float64{0, 1}, []float64{2, 1}, 0, true},
		// Two events at the same time are not comparable.
		{"EqualTimeTwoEvents", []float64{3, 3}, []float64{1, 1}, []float64{2, 1}, 0, false},
		{"EqualTimeTwoCensored", []float64{3, 3}, []float64{0, 0}, []float64{2, 1}, 0, false},
		// Tied predictions count one half.
		{"TiedRisk", []float64{1, 2}, []float64{1, 1}, []float64{5, 5}, 0.5, true},
		{"AllCensored", []float64{1, 2, 3}, []float64{0, 0, 0}, []float64{3, 2, 1}, 0, false},
		{"Empty", nil, nil, nil, 0, false},
		{"NaNRisk", []float64{1, 2}, []float64{1, 1}, []float64{math.NaN(), 1}, 0, false},
		// Rows (time, event, risk): (1,E,.9) (2,E,.5) (2,C,.7) (3,E,.5) (4,C,.1).
		// Row 1 is comparable with the four others and concordant with
		// all. Row 2 is discordant with row 3 (equal time), tied with
		// row 4 and concordant with row 5. Row 4 is concordant with
		// row 5. So C = (6 + 1/2) / 8.
		{"Mixed", []float64{1, 2, 2, 3, 4}, []float64{1, 1, 0, 1, 0},
			[]float64{0.9, 0.5, 0.7, 0.5, 0.1}, 6.5 / 8, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := CIndex(c.time, c.event, c.risk)
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v (c = %v)", ok, c.ok, got)
			}
			if got != c.want {
				t.Fatalf("C-index = %v, want %v", got, c.want)
			}
		})
	}
}

func TestCIndexPanicsOnLengthMismatch(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("CIndex with slices of different lengths did not panic")
		}
	}()
	CIndex([]float64{1, 2}, []float64{1}, []float64{1, 2})
}

// cIndexPairs is the O(n^2) definition of the C-index, pair by pair.
func cIndexPairs(time, event, risk []float64) (float64, bool) {
	var num, den float64
	for i := range time {
		if event[i] == 0 {
			continue
		}
		for j := range time {
			if i == j {
				continue
			}
			if !(time[i] < time[j] || time[i] == time[j] && event[j] == 0) {
				continue
			}
			den++
			switch {
			case risk[i] > risk[j]:
				num++
			case risk[i] == risk[j]:
				num += 0.5
			}
		}
	}
	if den == 0 {
		return 0, false
	}
	return num / den, true
}

func TestCIndexMatchesPairwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 20; trial++ {
		n := 50 + rng.IntN(400)
		time, event, risk := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := 0; i < n; i++ {
			time[i] = float64(1 + rng.IntN(20))
			if rng.Float64() < 0.4 {
				event[i] = 1
			}
			// One decimal makes tied risks common.
			risk[i] = math.Round(10*(rng.NormFloat64()-0.05*time[i])) / 10
		}
		got, ok := CIndex(time, event, risk)
		want, wantOK := cIndexPairs(time, event, risk)
		if ok != wantOK || !near(got, want, 1e-12) {
			t.Fatalf("trial %d (n=%d): CIndex = %v (ok %v), pairwise = %v (ok %v)", trial, n, got, ok, want, wantOK)
		}
	}
}

func TestBootstrapCIndex(t *testing.T) {
	f := simulateCox(t, 600, []float64{1}, 0.1, 0.05, 77)
	risk := make([]float64, f.Len())
	for i := range risk {
		risk[i] = f.X.At(i, 0)
	}
	c, ok := CIndex(f.Tenure, f.Event, risk)
	if !ok {
		t.Fatal("C-index undefined on simulated data")
	}
	ctx := context.Background()
	ci, skipped, ok, err := BootstrapCIndex(ctx, f.Tenure, f.Event, risk, 200, 42)
	if err != nil || !ok {
		t.Fatalf("BootstrapCIndex: ok = %v, err = %v", ok, err)
	}
	if skipped != 0 {
		t.Errorf("skipped %d resamples, want 0", skipped)
	}
	if !(ci[0] < c && c < ci[1]) {
		t.Errorf("interval [%v, %v] does not contain the estimate %v", ci[0], ci[1], c)
	}
	// About 400 events give a standard error near 0.015, so the width
	// is about 0.06.
	if width := ci[1] - ci[0]; width < 0.02 || width > 0.15 {
		t.Errorf("interval width %v, expected about 0.06", width)
	}
	again, _, _, _ := BootstrapCIndex(ctx, f.Tenure, f.Event, risk, 200, 42)
	if again != ci {
		t.Errorf("same seed gave %v then %v", ci, again)
	}
	other, _, _, _ := BootstrapCIndex(ctx, f.Tenure, f.Event, risk, 200, 43)
	if other == ci {
		t.Errorf("seeds 42 and 43 gave the same interval %v", ci)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, _, err := BootstrapCIndex(cancelled, f.Tenure, f.Event, risk, 200, 42); err == nil {
		t.Error("cancelled context: err = nil")
	}
}

func TestBootstrapCIndexUndefined(t *testing.T) {
	time, event, risk := []float64{1, 2, 3}, []float64{0, 0, 0}, []float64{1, 2, 3}
	_, skipped, ok, err := BootstrapCIndex(context.Background(), time, event, risk, 50, 1)
	if err != nil || ok {
		t.Fatalf("all censored: ok = %v, err = %v, want ok false", ok, err)
	}
	if skipped != 50 {
		t.Errorf("skipped = %d, want 50", skipped)
	}
}

func TestQuantileSorted(t *testing.T) {
	v := []float64{1, 2, 3, 4, 5}
	cases := []struct{ q, want float64 }{{0, 1}, {0.5, 3}, {0.25, 2}, {0.1, 1.4}, {1, 5}}
	for _, c := range cases {
		if got := quantileSorted(v, c.q); !near(got, c.want, 1e-12) {
			t.Errorf("quantile %v = %v, want %v", c.q, got, c.want)
		}
	}
}
