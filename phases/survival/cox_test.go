package survival

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// TestEfronLogLikHand checks the Efron log partial likelihood on six rows
// (time, event, x): (1,1,0) (2,1,1) (2,1,0) (2,0,1) (3,1,1) (4,0,0).
//
// At b = ln 2 the weights exp(b x) are 1,2,1,2,2,1.
//
//	t=1: risk set sum 9, one event with x=0:      0    - ln 9
//	t=2: risk set sum 8, events weigh 2+1 = 3:    ln 2 - ln 8 - ln(8 - 3/2)
//	t=3: risk set sum 3, one event with x=1:      ln 2 - ln 3
//	total = 2 ln 2 - ln(9 * 8 * 6.5 * 3) = ln(4/1404) = -ln 351
//
// At b = 0 every weight is 1: -ln 6 - ln 5 - ln(5-1) - ln 2 = -ln 240.
// R survival 3.5-3, coxph(ties = "efron", iter.max = 0), prints the same
// -5.86078622346587 at b = ln 2.
func TestEfronLogLikHand(t *testing.T) {
	time := []float64{1, 2, 2, 2, 3, 4}
	event := []float64{1, 1, 1, 0, 1, 0}
	x := []float64{0, 1, 0, 1, 1, 0}
	d := newCoxData(x, 6, 1, time, event)
	cases := []struct {
		name string
		b    float64
		want float64
	}{
		{"BetaLn2", math.Ln2, -math.Log(351)},
		{"BetaZero", 0, -math.Log(240)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := d.evaluate([]float64{c.b}, false).logLik
			if !near(got, c.want, 1e-12) {
				t.Fatalf("log partial likelihood = %.15g, want %.15g", got, c.want)
			}
			withDerivs := d.evaluate([]float64{c.b}, true).logLik
			if withDerivs != got {
				t.Fatalf("log partial likelihood with derivatives = %.15g, without = %.15g", withDerivs, got)
			}
		})
	}
}

// TestEfronDerivativesFiniteDifference compares the analytic gradient and
// information with central differences of the log-likelihood on tied data.
func TestEfronDerivativesFiniteDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	n, p := 80, 3
	z := make([]float64, n*p)
	time, event := make([]float64, n), make([]float64, n)
	for i := 0; i < n; i++ {
		for j := 0; j < p; j++ {
			z[i*p+j] = rng.NormFloat64()
		}
		time[i] = float64(1 + rng.IntN(6)) // many ties
		if rng.Float64() < 0.7 {
			event[i] = 1
		}
	}

	d := newCoxData(z, n, p, time, event)
	b := []float64{0.3, -0.5, 0.2}
	e := d.evaluate(b, true)
	const h = 1e-5
	ll := func(v []float64) float64 { return d.evaluate(v, false).logLik }
	grad := func(v []float64) []float64 { return d.evaluate(v, true).grad }
	for j := 0; j < p; j++ {
		up, down := append([]float64(nil), b...), append([]float64(nil), b...)
		up[j] += h
		down[j] -= h
		numGrad := (ll(up) - ll(down)) / (2 * h)
		if !near(e.grad[j], numGrad, 1e-6) {
			t.Errorf("gradient[%d] = %.10g, finite difference %.10g", j, e.grad[j], numGrad)
		}
		gu, gd := grad(up), grad(down)
		for k := 0; k < p; k++ {
			// The information is minus the Hessian.
			numInfo := -(gu[k] - gd[k]) / (2 * h)
			if !near(e.info.At(j, k), numInfo, 1e-5) {
				t.Errorf("information[%d][%d] = %.10g, finite difference %.10g", j, k, e.info.At(j, k), numInfo)
			}
		}
	}
}

// R survival 3.5-3 reference values for testdata/cox_ties.csv, printed by
// testdata/coxph_reference.R (coef on standardised columns, SEs from the
// inverse penalised information, Breslow H0 at the means).
var tiesReference = []struct {
	name          string
	lambda        float64
	coef, se      []float64
	logLik        float64 // unpenalised at the optimum
	penLogLik     float64
	breslowTimes  []float64
	breslowHazard []float64
	cIndex        float64
}{
	{
		name: "LambdaZero", lambda: 0,
		coef:         []float64{0.781179405784620, -0.349189197451090, 0.945766751887742},
		se:           []float64{0.174062562271182, 0.181109304459016, 0.207261320711882},
		logLik:       -106.717559175283,
		penLogLik:    -106.717559175283,
		breslowTimes: []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12},
		breslowHazard: []float64{0.100151441352554, 0.202669149386697, 0.349740942283651,
			0.562756677321576, 0.712322321487354, 1.038461214239880, 1.038461214239880,
			1.038461214239880, 1.485374205072068, 2.203469851620181, 2.203469851620181},
		cIndex: 0.823627287853577,
	},
	{
		name: "LambdaTenth", lambda: 0.1,
		coef:         []float64{0.608948486065583, -0.284490363900010, 0.728169198319062},
		se:           []float64{0.157698551359226, 0.163689294573646, 0.177022021374135},
		logLik:       -107.550990583635,
		penLogLik:    -110.496940805277,
		breslowTimes: []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12},
		breslowHazard: []float64{0.135263024151558, 0.252020442107682, 0.412374752216305,
			0.637059185049009, 0.783407827554388, 1.088225068638190, 1.088225068638190,
			1.088225068638190, 1.455968086729837, 2.067982168854170, 2.067982168854170},
		cIndex: 0.825291181364393,
	},
}

func TestFitCoxMatchesR(t *testing.T) {
	f := readTiesFrame(t)
	for _, ref := range tiesReference {
		t.Run(ref.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Lambda = ref.lambda
			m, summary, err := FitCox(context.Background(), f, cfg, discardLogger())
			if err != nil {
				t.Fatalf("FitCox: %v", err)
			}
			if got := strings.Join(m.Features, ","); got != "x1,x2,x3" {
				t.Fatalf("features = %s, want x1,x2,x3 (tenure excluded)", got)
			}
			if !m.Converged {
				t.Errorf("not converged after %d iterations", m.Iterations)
			}
			const tol = 1e-6
			for k := range ref.coef {
				if !near(m.Coef[k], ref.coef[k], tol) {
					t.Errorf("coef[%d] = %.12g, R %.12g", k, m.Coef[k], ref.coef[k])
				}
				if !near(summary[k].SE, ref.se[k], tol) {
					t.Errorf("se[%d] = %.12g, R %.12g", k, summary[k].SE, ref.se[k])
				}
			}
			if !near(m.LogPartialLik, ref.logLik, 1e-8) {
				t.Errorf("log partial likelihood = %.12g, R %.12g", m.LogPartialLik, ref.logLik)
			}
			if !near(m.LogLik, ref.penLogLik, 1e-8) {
				t.Errorf("penalised log-likelihood = %.12g, R %.12g", m.LogLik, ref.penLogLik)
			}
			if !near(m.NullLogLik, -125.345213064672, 1e-9) {
				t.Errorf("null log-likelihood = %.12g, R -125.345213064672", m.NullLogLik)
			}
			for k, tm := range ref.breslowTimes {
				if got := m.CumHazard(tm); !near(got, ref.breslowHazard[k], tol) {
					t.Errorf("H0(%v) = %.12g, R %.12g", tm, got, ref.breslowHazard[k])
				}
			}
			risk, err := m.Risk(f)
			if err != nil {
				t.Fatalf("Risk: %v", err)
			}
			c, ok := CIndex(f.Tenure, f.Event, risk)
			if !ok || !near(c, ref.cIndex, 1e-9) {
				t.Errorf("C-index = %.12g (ok %v), R concordance %.12g", c, ok, ref.cIndex)
			}
		})
	}
}

// TestFitCoxRecoversSimulated fits simulated proportional hazards data
// with a negligible penalty. With about 2,000 events the standard error of
// each coefficient is near 0.025, so 0.08 is over three standard errors.
func TestFitCoxRecoversSimulated(t *testing.T) {
	beta := []float64{0.5, -0.7, 0.3}
	f := simulateCox(t, 3000, beta, 0.1, 0.05, 42)
	cfg := DefaultConfig()
	cfg.Lambda = 1e-4
	m, summary, err := FitCox(context.Background(), f, cfg, discardLogger())
	if err != nil {
		t.Fatalf("FitCox: %v", err)
	}
	if m.NEvents < 1500 {
		t.Fatalf("simulation produced %d events, expected about 2,000", m.NEvents)
	}
	for k, want := range beta {
		if got := summary[k].CoefOriginal; !near(got, want, 0.08) {
			t.Errorf("coef %s = %.4f, want %.2f +- 0.08", m.Features[k], got, want)
		}
		if summary[k].Aliased || summary[k].Collinear {
			t.Errorf("independent column %s marked aliased or collinear", m.Features[k])
		}
	}

	// The gradient of the penalised objective vanishes at the optimum.
	z := make([]float64, f.Len()*len(beta))
	for i := 0; i < f.Len(); i++ {
		for k := range beta {
			z[i*len(beta)+k] = (f.X.At(i, k) - m.Means[k]) / m.Scales[k]
		}
	}
	d := newCoxData(z, f.Len(), len(beta), f.Tenure, f.Event)
	e, err := penalisedEval(d, m.Coef, float64(f.Len())*cfg.Lambda, true)
	if err != nil {
		t.Fatalf("penalisedEval: %v", err)
	}
	for k, g := range e.grad {
		if math.Abs(g) > 1e-6 {
			t.Errorf("gradient[%d] = %g at the optimum, want |g| <= 1e-6", k, g)
		}
	}
}

func TestFitCoxCollinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	n := 400
	x, female, male := make([]float64, n), make([]float64, n), make([]float64, n)
	tenure, event := make([]float64, n), make([]float64, n)
	for i := 0; i < n; i++ {
		x[i] = rng.NormFloat64()
		female[i] = float64(rng.IntN(2))
		male[i] = 1 - female[i]
		tenure[i] = math.Ceil(rng.ExpFloat64() * 10 / math.Exp(0.8*x[i]+0.3*female[i]))
		if rng.Float64() < 0.6 {
			event[i] = 1
		}
	}
	names := []string{"x", "x_copy", "gender_Female", "gender_Male", "independent"}
	indep := make([]float64, n)
	for i := range indep {
		indep[i] = rng.NormFloat64()
	}
	f := newFrame(t, tenure, event, names, x, x, female, male, indep)

	t.Run("PenalisedIsFinite", func(t *testing.T) {
		m, summary, err := FitCox(context.Background(), f, DefaultConfig(), discardLogger())
		if err != nil {
			t.Fatalf("FitCox: %v", err)
		}

		// x_copy repeats x and gender_Male is 1 - gender_Female, so each
		// is aliased given the column before it, and all four are
		// collinear.
		wantAliased := []bool{false, true, false, true, false}
		wantCollinear := []bool{true, true, true, true, false}
		for k, row := range summary {
			for _, v := range []float64{row.Coef, row.CoefOriginal, row.HazardRatio, row.SE, row.Z, row.P} {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("summary row %+v has a non-finite value", row)
				}
			}
			if row.Aliased != wantAliased[k] {
				t.Errorf("%s aliased = %v, want %v", row.Feature, row.Aliased, wantAliased[k])
			}
			if row.Collinear != wantCollinear[k] {
				t.Errorf("%s collinear = %v, want %v", row.Feature, row.Collinear, wantCollinear[k])
			}
		}
		// Duplicated columns share the coefficient equally, and the
		// penalty splits an opposite pair symmetrically.
		if !near(m.Coef[0], m.Coef[1], 1e-8) {
			t.Errorf("duplicated columns got %.10g and %.10g, want equal", m.Coef[0], m.Coef[1])
		}
		if !near(m.Coef[2], -m.Coef[3], 1e-8) {
			t.Errorf("one-hot pair got %.10g and %.10g, want opposite", m.Coef[2], m.Coef[3])
		}
		if m.Coef[0] <= 0 {
			t.Errorf("coef of x = %g, want > 0 (true effect 0.8)", m.Coef[0])
		}
	})

	t.Run("UnpenalisedIsSingular", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.Lambda = 0
		_, _, err := FitCox(context.Background(), f, cfg, discardLogger())
		if !errors.Is(err, ErrSingular) {
			t.Fatalf("FitCox with lambda 0 on collinear columns: err = %v, want ErrSingular", err)
		}
	})
}

func TestFitCoxDropsConstantColumn(t *testing.T) {
	f := simulateCox(t, 200, []float64{0.5}, 0.1, 0.05, 3)
	ones := make([]float64, f.Len())
	for i := range ones {
		ones[i] = 1
	}
	g := newFrame(t, f.Tenure, f.Event, []string{"x1", "constant"}, mat.Col(nil, 0, f.X), ones)
	var buf bytes.Buffer
	m, _, err := FitCox(context.Background(), g, DefaultConfig(), bufferLogger(&buf))
	if err != nil {
		t.Fatalf("FitCox: %v", err)
	}
	if len(m.Features) != 1 || m.Features[0] != "x1" {
		t.Errorf("features = %v, want [x1]", m.Features)
	}
	if len(m.Dropped) != 1 || m.Dropped[0] != "constant" {
		t.Errorf("dropped = %v, want [constant]", m.Dropped)
	}
	if !strings.Contains(buf.String(), "dropped constant cox features") {
		t.Errorf("log does not mention the dropped column:\n%s", buf.String())
	}
}

func TestFitCoxNotConvergedWarns(t *testing.T) {
	f := simulateCox(t, 500, []float64{1, -1}, 0.1, 0.05, 8)
	cfg := DefaultConfig()
	cfg.MaxIter = 1
	var buf bytes.Buffer
	m, _, err := FitCox(context.Background(), f, cfg, bufferLogger(&buf))
	if err != nil {
		t.Fatalf("FitCox: %v", err)
	}
	if m.Converged || m.Iterations != 1 {
		t.Errorf("converged = %v after %d iterations, want false after 1", m.Converged, m.Iterations)
	}
	log := buf.String()
	if !strings.Contains(log, "level=WARN") || !strings.Contains(log, "iterations=1") ||
		!strings.Contains(log, "last_change=") {
		t.Errorf("log lacks the non-convergence warning with iterations and last change:\n%s", log)
	}
}

func TestFitCoxErrors(t *testing.T) {
	f := simulateCox(t, 50, []float64{0.5}, 0.1, 0.05, 9)
	noEvents := newFrame(t, f.Tenure, make([]float64, f.Len()), f.Names, mat.Col(nil, 0, f.X))
	if _, _, err := FitCox(context.Background(), noEvents, DefaultConfig(), discardLogger()); !errors.Is(err, ErrNoEvents) {
		t.Errorf("no events: err = %v, want ErrNoEvents", err)
	}
	onlyTenure := newFrame(t, f.Tenure, f.Event, []string{dataset.ColTenure}, f.Tenure)
	if _, _, err := FitCox(context.Background(), onlyTenure, DefaultConfig(), discardLogger()); !errors.Is(err, ErrNoFeatures) {
		t.Errorf("tenure only: err = %v, want ErrNoFeatures", err)
	}
	bad := newFrame(t, f.Tenure, f.Event, f.Names, mat.Col(nil, 0, f.X))
	bad.X.Set(3, 0, math.NaN())
	if _, _, err := FitCox(context.Background(), bad, DefaultConfig(), discardLogger()); !errors.Is(err, ErrNonFinite) {
		t.Errorf("NaN feature: err = %v, want ErrNonFinite", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := FitCox(ctx, f, DefaultConfig(), discardLogger()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v, want context.Canceled", err)
	}
}

func TestSurvivalMonotoneInUnitInterval(t *testing.T) {
	f := simulateTelco(t, 1500, 21)
	m, _, err := FitCox(context.Background(), f, DefaultConfig(), discardLogger())
	if err != nil {
		t.Fatalf("FitCox: %v", err)
	}
	prev, err := m.Survival(f, -1)
	if err != nil {
		t.Fatalf("Survival: %v", err)
	}
	for i, s := range prev {
		if s != 1 {
			t.Fatalf("S(-1 | row %d) = %v, want 1 before any event", i, s)
		}
	}
	for tm := 0.0; tm <= 80; tm += 0.5 {
		cur, err := m.Survival(f, tm)
		if err != nil {
			t.Fatalf("Survival(%v): %v", tm, err)
		}
		for i := range cur {
			if !(cur[i] >= 0 && cur[i] <= 1) {
				t.Fatalf("S(%v | row %d) = %v, outside [0, 1]", tm, i, cur[i])
			}
			if cur[i] > prev[i] {
				t.Fatalf("S(%v | row %d) = %v exceeds the earlier %v", tm, i, cur[i], prev[i])
			}
		}
		prev = cur
	}
	if prev[0] >= 1 {
		t.Errorf("S(80 | row 0) = %v, want < 1 after the events", prev[0])
	}
}

func TestRiskMissingFeature(t *testing.T) {
	f := readTiesFrame(t)
	m, _, err := FitCox(context.Background(), f, DefaultConfig(), discardLogger())
	if err != nil {
		t.Fatalf("FitCox: %v", err)
	}
	g, err := f.Select([]string{"x1", "x3"})
	if err != nil {
		t.Fatalf("Select: %v", err)
	}
	if _, err := m.Risk(g); !errors.Is(err, dataset.ErrNoColumn) || !strings.Contains(err.Error(), `"x2"`) {
		t.Errorf("Risk without x2: err = %v, want ErrNoColumn naming x2", err)
	}
}
