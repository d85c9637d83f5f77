package survival

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// CoxModel is a fitted penalised Cox proportional hazards model. All fields
// are exported so that the model round-trips through JSON.
type CoxModel struct {
	// Features are the covariate names in coefficient order.
	Features []string `json:"features"`
	// Means and Scales are the training mean and sample standard deviation
	// of each feature, in its own units.
	Means  []float64 `json:"means"`
	Scales []float64 `json:"scales"`
	// Coef are the coefficients of the standardised features.
	Coef []float64 `json:"coef"`
	// BaselineTimes are the distinct training event times in months,
	// ascending, and BaselineCumHazard is the Breslow H0 at each of them
	// for a customer at the training means.
	BaselineTimes     []float64 `json:"baseline_times"`
	BaselineCumHazard []float64 `json:"baseline_cum_hazard"`
	// Dropped lists the features left out because they were constant in
	// the training split.
	Dropped []string `json:"dropped_constant,omitempty"`

	Lambda     float64 `json:"lambda"`
	Iterations int     `json:"iterations"`
	Converged  bool    `json:"converged"`
	// LastChange is the change of the penalised log-likelihood in the last
	// Newton step.
	LastChange float64 `json:"last_change"`
	// LogLik is the penalised objective at the optimum, LogPartialLik the
	// Efron log partial likelihood there, and NullLogLik the latter at b = 0.
	LogLik        float64 `json:"loglik"`
	LogPartialLik float64 `json:"log_partial_lik"`
	NullLogLik    float64 `json:"null_loglik"`
	NTrain        int     `json:"n_train"`
	NEvents       int     `json:"n_events"`
}

// maxExponent bounds exp arguments: exp(700) is about 1e304, still finite.
const maxExponent = 700

// FitCox fits the penalised Cox model of the package documentation on
// every feature of train except tenure. It returns the model and its
// summary table, or an error when the data have no events, no usable
// features, non-finite values, or when the information matrix is singular.
// Non-convergence within cfg.MaxIter steps is logged as a warning and
// recorded in the model, not returned as an error.
func FitCox(ctx context.Context, train *dataset.Frame, cfg Config, log *slog.Logger) (*CoxModel, []SummaryRow, error) {
	if err := cfg.validate(); err != nil {
		return nil, nil, err
	}
	if err := checkFrame(train, true); err != nil {
		return nil, nil, fmt.Errorf("fit cox: %w", err)
	}
	n := train.Len()
	if n < 2 {
		return nil, nil, fmt.Errorf("fit cox: %d training rows, need at least 2", n)
	}
	events := 0
	for _, e := range train.Event {
		if e == 1 {
			events++
		}
	}
	if events == 0 {
		return nil, nil, ErrNoEvents
	}

	// Standardise the non-constant features on the training split.
	m := &CoxModel{Lambda: cfg.Lambda, NTrain: n, NEvents: events}
	var cols []int
	for _, name := range train.Without(dataset.ColTenure) {
		j := train.Index(name)
		mean, sd := meanSampleSD(train.X, j)
		if sd <= 1e-12*(1+math.Abs(mean)) {
			m.Dropped = append(m.Dropped, name)
			continue
		}
		cols = append(cols, j)
		m.Features = append(m.Features, name)
		m.Means = append(m.Means, mean)
		m.Scales = append(m.Scales, sd)
	}
	if len(m.Dropped) > 0 {
		log.Info("dropped constant cox features", "features", m.Dropped)
	}
	p := len(cols)
	if p == 0 {
		return nil, nil, ErrNoFeatures
	}
	z := make([]float64, n*p)
	for i := 0; i < n; i++ {
		for k, j := range cols {
			z[i*p+k] = (train.X.At(i, j) - m.Means[k]) / m.Scales[k]
		}
	}
	data := newCoxData(z, n, p, train.Tenure, train.Event)

	// Maximise the penalised partial likelihood.
	nLambda := float64(n) * cfg.Lambda
	fit, err := newton(ctx, data, nLambda, cfg, log)
	if err != nil {
		return nil, nil, fmt.Errorf("fit cox: %w", err)
	}
	m.Coef = fit.b
	m.Iterations, m.Converged, m.LastChange = fit.iterations, fit.converged, fit.lastChange
	m.LogLik, m.LogPartialLik, m.NullLogLik = fit.penLogLik, fit.logLik, fit.nullLogLik

	// Baseline hazard and summary table.
	m.BaselineTimes, m.BaselineCumHazard = data.breslow(m.Coef)
	if err := checkFinite("baseline cumulative hazard", m.BaselineCumHazard); err != nil {
		return nil, nil, fmt.Errorf("fit cox: %w", err)
	}
	summary, err := summarise(m, fit.info, z, n, p, log)
	if err != nil {
		return nil, nil, fmt.Errorf("fit cox: %w", err)
	}
	log.Info("cox model fitted", "rows", n, "events", events, "features", p,
		"iterations", m.Iterations, "loglik", m.LogLik, "converged", m.Converged)
	return m, summary, nil
}

// newtonFit is the result of newton.
type newtonFit struct {
	b                             []float64
	info                          *mat.SymDense // penalised information at b
	iterations                    int
	converged                     bool
	lastChange                    float64
	penLogLik, logLik, nullLogLik float64
}

// newton maximises the penalised Efron log partial likelihood from b = 0.
// Each step solves info * delta = grad by Cholesky and halves the step, up
// to 30 times, while the objective does not increase.
func newton(ctx context.Context, d *coxData, nLambda float64, cfg Config, log *slog.Logger) (newtonFit, error) {
	p := d.p
	b := make([]float64, p)
	cur, err := penalisedEval(d, b, nLambda, true)
	if err != nil {
		return newtonFit{}, err
	}
	fit := newtonFit{nullLogLik: cur.logLik}
	curPen := cur.logLik - nLambda/2*dot(b, b)
	trial := make([]float64, p)
	for fit.iterations < cfg.MaxIter {
		if err := ctx.Err(); err != nil {
			return newtonFit{}, err
		}
		delta, err := solveSym(cur.info, cur.grad)
		if err != nil {
			return newtonFit{}, err
		}

		// Step halving: accept the first step that does not decrease the
		// objective.
		step, newPen := 1.0, math.Inf(-1)
		for halving := 0; halving <= 30; halving++ {
			for j := range trial {
				trial[j] = b[j] + step*delta[j]
			}
			e := d.evaluate(trial, false)
			newPen = e.logLik - nLambda/2*dot(trial, trial)
			if newPen >= curPen {
				break
			}
			step /= 2
		}
		fit.iterations++
		if !(newPen >= curPen) {
			// No step of 2^-30 or more ascends. That is the optimum to
			// floating-point precision only if Newton predicted a gain,
			// grad.delta / 2, below the tolerance.
			fit.lastChange = 0
			fit.converged = dot(cur.grad, delta)/2 < cfg.Tol
			log.Debug("cox newton step found no ascent", "iteration", fit.iterations,
				"predicted_gain", dot(cur.grad, delta)/2)
			break
		}
		copy(b, trial)
		fit.lastChange = newPen - curPen
		curPen = newPen
		log.Debug("cox newton step", "iteration", fit.iterations, "step", step, "loglik", curPen,
			"change", fit.lastChange)
		if cur, err = penalisedEval(d, b, nLambda, true); err != nil {
			return newtonFit{}, err
		}
		if fit.lastChange < cfg.Tol {
			fit.converged = true
			break
		}
	}
	if !fit.converged {
		log.Warn("cox newton did not converge", "iterations", fit.iterations, "last_change", fit.lastChange,
			"tolerance", cfg.Tol)
	}
	if err := checkFinite("coefficient", b); err != nil {
		return newtonFit{}, err
	}
	fit.b = b
	fit.info = cur.info
	fit.penLogLik = curPen
	fit.logLik = curPen + nLambda/2*dot(b, b)
	return fit, nil
}

// penalisedEval evaluates the partial likelihood at b and, with derivs,
// adds the penalty's -nLambda*b to the gradient and nLambda*I to the
// information. The returned logLik is unpenalised. It fails with
// ErrNonFinite when any part is NaN or infinite.
func penalisedEval(d *coxData, b []float64, nLambda float64, derivs bool) (coxEval, error) {
	e := d.evaluate(b, derivs)
	if math.IsNaN(e.logLik) || math.IsInf(e.logLik, 0) {
		return coxEval{}, fmt.Errorf("%w: log partial likelihood %v", ErrNonFinite, e.logLik)
	}
	if !derivs {
		return e, nil
	}
	for j := range e.grad {
		e.grad[j] -= nLambda * b[j]
		e.info.SetSym(j, j, e.info.At(j, j)+nLambda)
	}
	if err := checkFinite("gradient", e.grad); err != nil {
		return coxEval{}, err
	}
	return e, nil
}

// solveSym solves a x = y for a symmetric positive definite a.
func solveSym(a *mat.SymDense, y []float64) ([]float64, error) {
	var chol mat.Cholesky
	if ok := chol.Factorize(a); !ok {
		return nil, fmt.Errorf("%w; use lambda > 0 for collinear features", ErrSingular)
	}
	// gonum returns a mat.Condition error when the factor is numerically
	// singular, as it is for collinear columns without a penalty.
	var x mat.VecDense
	if err := chol.SolveVecTo(&x, mat.NewVecDense(len(y), append([]float64(nil), y...))); err != nil {
		return nil, fmt.Errorf("%w (%v); use lambda > 0 for collinear features", ErrSingular, err)
	}
	out := x.RawVector().Data
	if err := checkFinite("newton step", out); err != nil {
		return nil, err
	}
	return out, nil
}

// Risk returns the linear predictor (x - mean)/scale . coef for each row of
// f. A higher value means a higher hazard. It fails when f lacks a model
// feature or holds a non-finite value.
func (m *CoxModel) Risk(f *dataset.Frame) ([]float64, error) {
	if err := checkFrame(f, false); err != nil {
		return nil, fmt.Errorf("cox risk: %w", err)
	}
	cols := make([]int, len(m.Features))
	for k, name := range m.Features {
		cols[k] = f.Index(name)
		if cols[k] < 0 {
			return nil, fmt.Errorf("cox risk: %w: %q", dataset.ErrNoColumn, name)
		}
	}
	out := make([]float64, f.Len())
	for i := range out {
		var eta float64
		for k, j := range cols {
			eta += (f.X.At(i, j) - m.Means[k]) / m.Scales[k] * m.Coef[k]
		}
		if math.IsNaN(eta) || math.IsInf(eta, 0) {
			return nil, fmt.Errorf("cox risk: %w: row %d (%s) has linear predictor %v",
				ErrNonFinite, i, f.IDs[i], eta)
		}
		out[i] = eta
	}
	return out, nil
}

// CumHazard returns the Breslow baseline cumulative hazard H0(t) at t
// months. It is 0 before the first training event time and stays at its
// last value after the last one.
func (m *CoxModel) CumHazard(t float64) float64 {
	k := sort.Search(len(m.BaselineTimes), func(i int) bool { return m.BaselineTimes[i] > t })
	if k == 0 {
		return 0
	}
	return m.BaselineCumHazard[k-1]
}

// Survival returns S(t | x) = exp(-H0(t) exp(risk)) for each row of f, a
// value in [0, 1] that never increases with t. It is not clipped. Times
// after the last training event reuse the last H0, so the curve is flat
// there.
func (m *CoxModel) Survival(f *dataset.Frame, t float64) ([]float64, error) {
	risk, err := m.Risk(f)
	if err != nil {
		return nil, err
	}
	h0 := m.CumHazard(t)
	for i, eta := range risk {
		risk[i] = survivalAt(h0, eta)
	}
	return risk, nil
}

// survivalAt returns exp(-h0 exp(eta)), 1 when h0 is 0 whatever eta is.
func survivalAt(h0, eta float64) float64 {
	if h0 <= 0 {
		return 1
	}
	return math.Exp(-h0 * math.Exp(min(eta, maxExponent)))
}

// checkFrame validates f and, for a training frame, its event flags (0 or
// 1) and tenures (finite, >= 0).
func checkFrame(f *dataset.Frame, training bool) error {
	if f == nil {
		return errors.New("nil frame")
	}
	if err := f.Validate(); err != nil {
		return err
	}
	if !training {
		return nil
	}
	for i := range f.IDs {
		if e := f.Event[i]; e != 0 && e != 1 {
			return fmt.Errorf("row %d (%s): event %v is not 0 or 1", i, f.IDs[i], e)
		}
		if t := f.Tenure[i]; !(t >= 0) || math.IsInf(t, 0) {
			return fmt.Errorf("row %d (%s): tenure %v months is not finite and >= 0", i, f.IDs[i], t)
		}
	}
	r, c := f.X.Dims()
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			if v := f.X.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%w: row %d (%s) feature %q is %v", ErrNonFinite, i, f.IDs[i], f.Names[j], v)
			}
		}
	}
	return nil
}

// meanSampleSD returns the mean and the sample standard deviation (divisor
// n-1) of column j of x.
func meanSampleSD(x *mat.Dense, j int) (mean, sd float64) {
	n, _ := x.Dims()
	for i := 0; i < n; i++ {
		mean += x.At(i, j)
	}
	mean /= float64(n)
	var ss float64
	for i := 0; i < n; i++ {
		d := x.At(i, j) - mean
		ss += d * d
	}
	return mean, math.Sqrt(ss / float64(n-1))
}

func checkFinite(what string, v []float64) error {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%w: %s[%d] is %v", ErrNonFinite, what, i, x)
		}
	}
	return nil
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
