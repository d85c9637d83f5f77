package survival

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// RSFMetrics are the survival metrics of the random survival forest on
// the validation and test splits, keyed by split name. Its survival is
// S(t | x) = exp(-H(t | x)) from the forest's cumulative hazard, and the
// integrated Brier score uses the Cox model's time grid of the split.
type RSFMetrics struct {
	Trees int `json:"trees"`
	// CIndex is Harrell's C of the forest's risk score.
	CIndex map[string]float64 `json:"c_index"`
	// Brier is the IPCW Brier score at the horizon.
	Brier map[string]float64 `json:"brier_6m"`
	// IBS is the integrated Brier score.
	IBS map[string]float64 `json:"ibs"`
	// FitMillis is the wall time of growing the forest.
	FitMillis int64 `json:"fit_ms"`
	// Undefined lists the metrics left out, each with the reason.
	Undefined []string `json:"undefined,omitempty"`
}

// evaluateRSF grows the forest on the training split and scores the
// validation and test splits.
func evaluateRSF(ctx context.Context, frames map[string]*dataset.Frame, cfg Config, log *slog.Logger) (*RSFMetrics, error) {
	start := time.Now()
	forest, err := FitRSF(ctx, frames[dataset.Train], cfg.RSF, cfg.Seed)
	if err != nil {
		return nil, err
	}
	m := &RSFMetrics{
		Trees:     cfg.RSF.Trees,
		CIndex:    map[string]float64{},
		Brier:     map[string]float64{},
		IBS:       map[string]float64{},
		FitMillis: time.Since(start).Milliseconds(),
	}
	undefined := func(metric, split, reason string) {
		m.Undefined = append(m.Undefined, fmt.Sprintf("%s %s: %s", metric, split, reason))
		log.Warn("forest metric undefined", "metric", metric, "split", split, "reason", reason)
	}
	train := frames[dataset.Train]
	cens := censoringKM(train.Tenure, train.Event)

	for _, split := range []string{dataset.Val, dataset.Test} {
		f := frames[split]
		fu := newFollowUp(f.Tenure, cens)
		grid, gridOK := ibsGrid(f.Tenure, f.Event, cfg.IBSPoints, fu)
		// The horizon comes first, then the grid.
		times := append([]float64{cfg.HorizonMonths}, grid.Times...)
		risk, chf, err := forest.Predict(f, times)
		if err != nil {
			return nil, fmt.Errorf("forest %s split: %w", split, err)
		}
		survival := make(map[float64][]float64, len(times))
		for k, t := range times {
			s := make([]float64, len(chf[k]))
			for i, h := range chf[k] {
				s[i] = math.Exp(-h)
			}
			survival[t] = s
		}
		survAt := func(t float64) []float64 { return survival[t] }

		if c, ok := CIndex(f.Tenure, f.Event, risk); ok {
			m.CIndex[split] = c
		} else {
			undefined("c_index", split, "no comparable pair")
		}
		if bs, ok := brierScore(f.Tenure, f.Event, survAt(cfg.HorizonMonths), cfg.HorizonMonths, fu); ok {
			m.Brier[split] = bs
		} else {
			undefined("brier_6m", split, fmt.Sprintf("%v months is outside the follow-up range", cfg.HorizonMonths))
		}
		if !gridOK {
			undefined("ibs", split, "no event-time grid inside the follow-up range")
			continue
		}
		ibs, err := integratedBrier(f.Tenure, f.Event, grid.Times, fu, survAt)
		if err != nil {
			return nil, fmt.Errorf("forest %s split: %w", split, err)
		}
		m.IBS[split] = ibs
	}
	log.Info("random survival forest evaluated", "trees", m.Trees, "fit_ms", m.FitMillis,
		"c_index_val", m.CIndex[dataset.Val], "c_index_test", m.CIndex[dataset.Test], "ibs_test", m.IBS[dataset.Test])
	return m, nil
}
