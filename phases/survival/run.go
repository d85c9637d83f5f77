package survival

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"

	"github.com/ecomopti/ecomopti/phases/dataset"
	"github.com/ecomopti/ecomopti/phases/gbt"
)

// Predictions holds the per-customer outputs of Phase 2 for one split, all
// slices in row order of the split.
type Predictions struct {
	IDs []string
	// S6 is S(horizon | x) clipped to [SurvivalMin, SurvivalMax].
	S6 []float64
	// Risk is the Cox linear predictor. A higher value means earlier churn.
	Risk []float64
	// CLVActual is the target S6 x MonthlyCharges x horizon and CLVPred
	// the regression model's prediction of it, both in dollars.
	CLVActual []float64
	CLVPred   []float64
}

// Len returns the number of customers.
func (p *Predictions) Len() int { return len(p.IDs) }

// Metrics are the evaluation figures of Phase 2. Maps are keyed by split
// name. A metric that is undefined for a split has no key, so no NaN
// reaches JSON, and CoxMetrics.Undefined gives the reason.
type Metrics struct {
	Cox CoxMetrics `json:"cox"`
	// RSF is nil when the forest was skipped.
	RSF      *RSFMetrics `json:"rsf,omitempty"`
	CLV      CLVMetrics  `json:"clv"`
	Segments *Segments   `json:"segments,omitempty"`
}

// CoxMetrics are the survival metrics of the Cox model.
type CoxMetrics struct {
	// HorizonMonths is the time of the Brier score and the calibration
	// table. The JSON keys contain 6m because 6 months is the default.
	HorizonMonths float64 `json:"horizon_months"`
	// CIndex is Harrell's C on train, val and test.
	CIndex map[string]float64 `json:"c_index"`
	// CIndexCI is the 95% percentile bootstrap interval on val and test.
	CIndexCI           map[string]Interval `json:"c_index_ci"`
	BootstrapResamples int                 `json:"bootstrap_resamples"`
	// Brier is the IPCW Brier score at the horizon on val and test.
	Brier map[string]float64 `json:"brier_6m"`
	// IBS is the integrated Brier score over IBSGrid on val and test.
	IBS     map[string]float64  `json:"ibs"`
	IBSGrid map[string]TimeGrid `json:"ibs_grid"`
	// Calibration compares predicted and Kaplan-Meier survival at the
	// horizon in quantile bins of the test split.
	Calibration []CalibrationBin `json:"calibration_6m,omitempty"`
	// Undefined lists the metrics left out, each with the reason.
	Undefined []string `json:"undefined,omitempty"`
}

// CLVMetrics are the errors of the CLV regression per split.
type CLVMetrics struct {
	// Features are the regression inputs, after the leakage audit.
	Features []string `json:"features"`
	// MAE is the mean absolute error in dollars.
	MAE map[string]float64 `json:"mae"`
	// R2 is the coefficient of determination.
	R2 map[string]float64 `json:"r2"`
	// MAPE is the mean absolute percentage error in percent, over the rows
	// whose actual CLV is positive.
	MAPE map[string]float64 `json:"mape"`
}

// Result is the output of Phase 2.
type Result struct {
	Cox     *CoxModel
	Summary []SummaryRow
	// Predictions maps each split name to its predictions.
	Predictions map[string]*Predictions
	Metrics     Metrics
	// RiskCurves are the Kaplan-Meier curves of the test split by decile
	// of Cox risk.
	RiskCurves []RiskGroupCurve
}

// Run fits the Cox model on train, scores all three splits, evaluates the
// model on val and test, fits and evaluates the random survival forest
// unless cfg.RSF.Trees is 0, and fits the CLV regression on train. It returns
// an error for invalid inputs or config, a failed fit, a leaking CLV
// feature, or a cancelled context.
func Run(ctx context.Context, train, val, test *dataset.Frame, cfg Config, log *slog.Logger) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.CLVFit == nil {
		cfg.CLVFit = gbt.Fitter(CLVParams())
	}
	frames := map[string]*dataset.Frame{dataset.Train: train, dataset.Val: val, dataset.Test: test}
	for _, split := range dataset.Splits {
		if err := checkFrame(frames[split], true); err != nil {
			return nil, fmt.Errorf("survival %s split: %w", split, err)
		}
		if frames[split].Len() == 0 {
			return nil, fmt.Errorf("survival %s split: no rows", split)
		}
	}

	// Cox model and per-split survival predictions.
	model, summary, err := FitCox(ctx, train, cfg, log)
	if err != nil {
		return nil, err
	}
	res := &Result{Cox: model, Summary: summary, Predictions: make(map[string]*Predictions)}
	h0 := model.CumHazard(cfg.HorizonMonths)
	for _, split := range dataset.Splits {
		f := frames[split]
		risk, err := model.Risk(f)
		if err != nil {
			return nil, fmt.Errorf("survival %s split: %w", split, err)
		}
		p := &Predictions{IDs: f.IDs, Risk: risk, S6: make([]float64, len(risk))}
		for i, eta := range risk {
			p.S6[i] = min(max(survivalAt(h0, eta), cfg.SurvivalMin), cfg.SurvivalMax)
		}
		res.Predictions[split] = p
	}

	// The random survival forest needs nothing from the Cox model, so it
	// grows while the Cox metrics and the CLV model are computed.
	var forest *RSFMetrics
	var forestErr error
	var wg sync.WaitGroup
	defer wg.Wait()
	if cfg.RSF.Trees > 0 {
		wg.Go(func() { forest, forestErr = evaluateRSF(ctx, frames, cfg, log) })
	}

	// Survival metrics.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.Metrics.Cox, res.RiskCurves, err = coxMetrics(ctx, model, frames, res.Predictions, cfg, log)
	if err != nil {
		return nil, err
	}

	// CLV regression.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.Metrics.CLV, err = fitCLV(ctx, frames, res.Predictions, cfg, log)
	if err != nil {
		return nil, err
	}
	wg.Wait()
	if forestErr != nil {
		return nil, forestErr
	}
	res.Metrics.RSF = forest
	seg := segment(res.Predictions[dataset.Test])
	res.Metrics.Segments = &seg
	return res, nil
}

// coxMetrics evaluates the Cox predictions: C-index everywhere, bootstrap
// intervals and IPCW Brier scores on val and test, calibration and risk
// decile curves on test.
func coxMetrics(ctx context.Context, model *CoxModel, frames map[string]*dataset.Frame,
	preds map[string]*Predictions, cfg Config, log *slog.Logger) (CoxMetrics, []RiskGroupCurve, error) {
	m := CoxMetrics{
		HorizonMonths:      cfg.HorizonMonths,
		CIndex:             map[string]float64{},
		CIndexCI:           map[string]Interval{},
		BootstrapResamples: cfg.Bootstrap,
		Brier:              map[string]float64{},
		IBS:                map[string]float64{},
		IBSGrid:            map[string]TimeGrid{},
	}
	undefined := func(metric, split, reason string) {
		m.Undefined = append(m.Undefined, fmt.Sprintf("%s %s: %s", metric, split, reason))
		log.Warn("metric undefined", "metric", metric, "split", split, "reason", reason)
	}
	train := frames[dataset.Train]
	cens := censoringKM(train.Tenure, train.Event)

	for _, split := range dataset.Splits {
		f, p := frames[split], preds[split]
		if c, ok := CIndex(f.Tenure, f.Event, p.Risk); ok {
			m.CIndex[split] = c
		} else {
			undefined("c_index", split, "no comparable pair")
		}
		if split == dataset.Train {
			continue
		}

		if cfg.Bootstrap > 0 {
			ci, skipped, ok, err := BootstrapCIndex(ctx, f.Tenure, f.Event, p.Risk, cfg.Bootstrap, cfg.Seed)
			if err != nil {
				return CoxMetrics{}, nil, err
			}
			if ok {
				m.CIndexCI[split] = ci
			} else {
				undefined("c_index_ci", split, "fewer than 2 resamples with a comparable pair")
			}
			if skipped > 0 {
				log.Info("bootstrap resamples without a comparable pair", "split", split, "skipped", skipped)
			}
		}

		// IPCW Brier score at the horizon and integrated over the grid.
		fu := newFollowUp(f.Tenure, cens)
		survAt := func(t float64) []float64 {
			h := model.CumHazard(t)
			s := make([]float64, len(p.Risk))
			for i, eta := range p.Risk {
				s[i] = survivalAt(h, eta)
			}
			return s
		}
		if bs, ok := brierScore(f.Tenure, f.Event, survAt(cfg.HorizonMonths), cfg.HorizonMonths, fu); ok {
			m.Brier[split] = bs
		} else {
			undefined("brier_6m", split, fmt.Sprintf("%v months is outside the follow-up range", cfg.HorizonMonths))
		}
		grid, ok := ibsGrid(f.Tenure, f.Event, cfg.IBSPoints, fu)
		if !ok {
			undefined("ibs", split, "no event-time grid inside the follow-up range")
			continue
		}
		if grid.Clipped {
			log.Info("integrated brier grid clipped to the follow-up range", "split", split,
				"upper_months", grid.Times[len(grid.Times)-1])
		}
		ibs, err := integratedBrier(f.Tenure, f.Event, grid.Times, fu, survAt)
		if err != nil {
			return CoxMetrics{}, nil, fmt.Errorf("survival %s split: %w", split, err)
		}
		m.IBS[split] = ibs
		m.IBSGrid[split] = grid
	}

	// Calibration table and risk-decile curves on test.
	test, p := frames[dataset.Test], preds[dataset.Test]
	m.Calibration = calibrationTable(test.Tenure, test.Event, p.S6, cfg.HorizonMonths, cfg.CalibrationBins)
	curves := riskDecileCurves(test.Tenure, test.Event, p.Risk, riskGroups)
	log.Info("cox evaluated", "c_index_val", m.CIndex[dataset.Val], "c_index_test", m.CIndex[dataset.Test],
		"ibs_test", m.IBS[dataset.Test])
	return m, curves, nil
}

// fitCLV builds the CLV target from the clipped survival, audits the
// features, fits cfg.CLVFit on train and fills the predictions of every
// split.
func fitCLV(ctx context.Context, frames map[string]*dataset.Frame, preds map[string]*Predictions,
	cfg Config, log *slog.Logger) (CLVMetrics, error) {
	train := frames[dataset.Train]
	names := train.Without(dataset.ColTenure, dataset.ColMonthlyCharges)
	if err := AuditLeakage(names); err != nil {
		return CLVMetrics{}, fmt.Errorf("clv audit: %w", err)
	}
	m := CLVMetrics{Features: names, MAE: map[string]float64{}, R2: map[string]float64{}, MAPE: map[string]float64{}}
	x := make(map[string]*dataset.Frame, len(frames))
	for _, split := range dataset.Splits {
		p := preds[split]
		y, err := clvTarget(frames[split], p.S6, cfg.HorizonMonths)
		if err != nil {
			return CLVMetrics{}, fmt.Errorf("clv %s split: %w", split, err)
		}
		p.CLVActual = y
		if x[split], err = frames[split].Select(names); err != nil {
			return CLVMetrics{}, fmt.Errorf("clv %s split: %w", split, err)
		}
	}

	predict, err := cfg.CLVFit(ctx, x[dataset.Train].X, preds[dataset.Train].CLVActual)
	if err != nil {
		return CLVMetrics{}, fmt.Errorf("fit clv model: %w", err)
	}
	for _, split := range dataset.Splits {
		p := preds[split]
		p.CLVPred = predict(x[split].X)
		if len(p.CLVPred) != p.Len() {
			return CLVMetrics{}, fmt.Errorf("clv %s split: model returned %d predictions for %d rows",
				split, len(p.CLVPred), p.Len())
		}
		for i, v := range p.CLVPred {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return CLVMetrics{}, fmt.Errorf("clv %s split: %w: prediction for %s is %v",
					split, ErrNonFinite, p.IDs[i], v)
			}
		}
		e := regressionErrors(p.CLVActual, p.CLVPred)
		m.MAE[split] = e.mae
		if e.r2 != nil {
			m.R2[split] = *e.r2
		}
		if e.mape != nil {
			m.MAPE[split] = *e.mape
		}
	}
	log.Info("clv model fitted", "features", len(names), "r2_test", m.R2[dataset.Test],
		"mae_test", m.MAE[dataset.Test])
	return m, nil
}

// riskGroups is the number of risk quantile groups with a Kaplan-Meier
// curve: deciles.
const riskGroups = 10
