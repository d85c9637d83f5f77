package uplift

import (
	"math"
	"slices"
	"testing"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// simulate runs the process of cfg on a telco-like frame of n rows, with the
// high-CLV cut taken on that frame.
func simulate(t *testing.T, n int, frameSeed, seed uint64, cfg DGPConfig) (*dataset.Frame, []float64, []float64, *generated) {
	t.Helper()
	f, s6, clv := telcoLikeFrame(n, frameSeed)
	p0 := make([]float64, n)
	for i := range s6 {
		p0[i] = clip(1-s6[i], cfg.P0Min, cfg.P0Max)
	}
	g, err := generate(f, p0, clv, quantile(clv, cfg.HighCLVQuantile), cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	return f, p0, clv, g
}

func TestGenerateMeanPropensity(t *testing.T) {
	for _, seed := range []uint64{42, 43, 44} {
		_, _, _, g := simulate(t, 4000, 1, seed, DefaultDGPConfig())
		if got := mean(g.propensity); math.Abs(got-0.35) > 0.01 {
			t.Errorf("seed %d: mean propensity %.4f, expected 0.35 +- 0.01", seed, got)
		}
		// The draw itself: a binomial share of 4000 has sd 0.0075.
		if got := mean(g.treatment); math.Abs(got-0.35) > 0.03 {
			t.Errorf("seed %d: treated share %.4f, expected 0.35 +- 0.03", seed, got)
		}
		for i, p := range g.propensity {
			if !(p > 0 && p < 1) {
				t.Fatalf("seed %d: propensity of row %d is %v", seed, i, p)
			}
		}
	}
}

func TestGenerateSleepingDogs(t *testing.T) {
	f, _, _, g := simulate(t, 4000, 2, 42, DefaultDGPConfig())
	monthly := f.ColOrZero(dataset.FeatMonthToMonth)
	var dogs int
	for i := range g.uplift {
		if monthly[i] != 1 || f.Tenure[i] < 48 {
			continue
		}
		dogs++
		if g.uplift[i] >= 0 {
			t.Errorf("sleeping dog row %d has uplift %v, expected < 0", i, g.uplift[i])
		}
		// -0.30 with noise sd 0.03: 0.15 is five standard deviations.
		if math.Abs(g.effect[i]+0.30) > 0.15 {
			t.Errorf("sleeping dog row %d has effect %v, expected near -0.30", i, g.effect[i])
		}
	}
	if dogs < 100 {
		t.Fatalf("only %d sleeping dogs in the frame, the check is too weak", dogs)
	}
}

// TestGenerateEffectSegments checks the mean relative churn reduction of
// each segment against its design value. The noise has mean 0 and sd 0.03,
// so a segment mean over n rows is within 4 x 0.03 / sqrt(n) of it.
func TestGenerateEffectSegments(t *testing.T) {
	cfg := DefaultDGPConfig()
	f, _, clv, g := simulate(t, 10000, 3, 42, cfg)
	cut := quantile(clv, cfg.HighCLVQuantile)
	monthly := f.ColOrZero(dataset.FeatMonthToMonth)
	oneYear := f.ColOrZero(dataset.FeatOneYear)
	noSecurity := f.ColOrZero(dataset.FeatOnlineSecNo)
	noSupport := f.ColOrZero(dataset.FeatTechSupportNo)

	segment := func(i int) string {
		high := ""
		if clv[i] > cut {
			high = "+high_clv"
		}
		switch {
		case monthly[i] == 1 && f.Tenure[i] >= 48:
			return "sleeping_dog"
		case monthly[i] == 1 && (noSecurity[i] == 1 || noSupport[i] == 1):
			return "monthly_unprotected" + high
		case monthly[i] == 1:
			return "monthly" + high
		case oneYear[i] == 1:
			return "one_year" + high
		}
		return "two_year" + high
	}
	want := map[string]float64{
		"sleeping_dog":        -0.30,
		"monthly_unprotected": 0.45, "monthly_unprotected+high_clv": 0.55,
		"monthly": 0.25, "monthly+high_clv": 0.35,
		"one_year": 0.15, "one_year+high_clv": 0.25,
		"two_year": 0.05, "two_year+high_clv": 0.15,
	}
	sum, count := map[string]float64{}, map[string]int{}
	for i := range g.effect {
		s := segment(i)
		sum[s] += g.effect[i]
		count[s]++
	}
	for s, w := range want {
		if count[s] < 10 {
			t.Errorf("segment %s has %d rows, too few to check", s, count[s])
			continue
		}
		tol := 4 * 0.03 / math.Sqrt(float64(count[s]))
		if got := sum[s] / float64(count[s]); math.Abs(got-w) > tol {
			t.Errorf("segment %s: mean effect %.4f over %d rows, expected %.2f", s, got, count[s], w)
		}
	}
}

func TestGenerateEffectClipped(t *testing.T) {
	cfg := DefaultDGPConfig()
	cfg.EffectNoiseSD = 0.5 // wide enough that both bounds are hit
	_, p0, _, g := simulate(t, 3000, 4, 42, cfg)
	lo, hi := slices.Min(g.effect), slices.Max(g.effect)
	if lo != -0.40 {
		t.Errorf("minimum effect %v, expected the clip bound -0.40", lo)
	}
	if hi != 0.70 {
		t.Errorf("maximum effect %v, expected the clip bound 0.70", hi)
	}
	for i := range g.uplift {
		if g.uplift[i] != p0[i]*g.effect[i] {
			t.Fatalf("row %d: uplift %v != p0 %v x effect %v", i, g.uplift[i], p0[i], g.effect[i])
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	cfg := DefaultDGPConfig()
	_, _, _, a := simulate(t, 2000, 5, 42, cfg)
	_, _, _, b := simulate(t, 2000, 5, 42, cfg)
	_, _, _, c := simulate(t, 2000, 5, 43, cfg)
	for name, pair := range map[string][2][]float64{
		"treatment": {a.treatment, b.treatment},
		"retained":  {a.retained, b.retained},
		"uplift":    {a.uplift, b.uplift},
	} {
		if !slices.Equal(pair[0], pair[1]) {
			t.Errorf("%s differs between two runs with seed 42", name)
		}
	}
	if slices.Equal(a.treatment, c.treatment) {
		t.Errorf("treatment is identical for seeds 42 and 43")
	}
	if slices.Equal(a.uplift, c.uplift) {
		t.Errorf("uplift is identical for seeds 42 and 43")
	}
}

// TestGenerateOutcomeRates checks the churn rates by arm: control churn
// has mean p0 and treated churn mean p0 (1 - r).
func TestGenerateOutcomeRates(t *testing.T) {
	_, p0, _, g := simulate(t, 20000, 6, 42, DefaultDGPConfig())
	var churnT, expT, churnC, expC, nT, nC float64
	for i := range p0 {
		if g.treatment[i] == 1 {
			nT++
			churnT += 1 - g.retained[i]
			expT += p0[i] * (1 - g.effect[i])
		} else {
			nC++
			churnC += 1 - g.retained[i]
			expC += p0[i]
		}
	}
	// Binomial sd of a churn share over 7000+ rows is below 0.006.
	if got, want := churnT/nT, expT/nT; math.Abs(got-want) > 0.02 {
		t.Errorf("treated churn %.4f, expected %.4f", got, want)
	}
	if got, want := churnC/nC, expC/nC; math.Abs(got-want) > 0.02 {
		t.Errorf("control churn %.4f, expected %.4f", got, want)
	}
}

func TestQuantileType7(t *testing.T) {
	// R 4.2.2: quantile(c(1, 2, 3, 4, 10), 0.8) is 5.2, or 4 + 0.2 x 6.
	if got := quantile([]float64{10, 1, 3, 2, 4}, 0.8); math.Abs(got-5.2) > 1e-12 {
		t.Errorf("quantile 0.8 = %v, expected 5.2", got)
	}
	if got := quantile([]float64{7}, 0.8); got != 7 {
		t.Errorf("quantile of one value = %v, expected 7", got)
	}
}

func TestSolveIntercept(t *testing.T) {
	logit := []float64{-3, -1, 0, 2, 5}
	for _, target := range []float64{0.05, 0.35, 0.9} {
		a := solveIntercept(logit, target)
		var m float64
		for _, v := range logit {
			m += sigmoid(a + v)
		}
		if got := m / float64(len(logit)); math.Abs(got-target) > 1e-9 {
			t.Errorf("target %v: mean propensity %v", target, got)
		}
	}
}
