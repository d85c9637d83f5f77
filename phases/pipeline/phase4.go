package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/dataset"
	"github.com/ecomopti/ecomopti/phases/optimize"
	"github.com/ecomopti/ecomopti/phases/plots"
	"github.com/ecomopti/ecomopti/phases/survival"
)

// Names of the run-level Phase 4 files that do not depend on the request.
const (
	// SurvivalPlotPrefix starts the file names of the Phase 2 charts that
	// Phase 4 draws, such as survival_km_by_risk_decile.png.
	SurvivalPlotPrefix = "survival_"
	// SuffixPlots ends the name of the chart manifest of a request.
	SuffixPlots = "_plots.json"
)

// PlotEntry is one line of a chart manifest: a chart that was drawn, with
// its file name, or one that was skipped, with the reason.
type PlotEntry struct {
	Name    string `json:"name"`
	Title   string `json:"title"`
	File    string `json:"file,omitempty"`
	Skipped string `json:"skipped,omitempty"`
}

// phase4 runs the requested optimisation of a pipeline run and writes its
// outputs into dir. They are the CRM export, report JSON, Markdown summary
// and segment deep-dive, the greedy-vs-exact comparison, the campaign
// charts and the Phase 2 charts from surv (skipped when surv is nil). The
// budget sweep is added when params.RunSweep is set, and the scenario
// analysis when params.RunScenarios is set. Every file is staged and
// renamed into place only after all of them are written. It returns the
// report and the file names relative to dir.
func phase4(ctx context.Context, runDir, dir string, params jobs.Params, cfg Config, surv *survival.Result, log *slog.Logger) (*optimize.Report, []string, error) {
	scores, err := ReadScores(PhaseDir(runDir, PhaseUplift), params.Split)
	if err != nil {
		return nil, nil, err
	}
	oreq := optimize.Request{Split: params.Split, Model: params.Model, Budget: params.Budget}
	report, err := optimize.Optimize(ctx, scores, oreq, cfg.Optimize, log)
	if err != nil {
		return nil, nil, err
	}

	set := optimize.NewFileSet(dir)
	defer set.Abort()
	stem := Stem(oreq)
	if _, err := report.StageFiles(set, stem); err != nil {
		return nil, nil, err
	}
	sweep, err := stageAnalysis(ctx, set, stem, report, scores, params, cfg.Optimize, log)
	if err != nil {
		return nil, nil, err
	}

	start := time.Now()
	campaign, err := plots.Campaign(plots.CampaignInput{Report: report, Sweep: sweep, Scores: scores})
	if err != nil {
		return nil, nil, err
	}
	var survivalFigures []plots.Figure
	if surv != nil {
		if survivalFigures, err = plots.Survival(surv.RiskCurves, surv.Summary); err != nil {
			return nil, nil, err
		}
	}
	manifest, err := stagePlots(set, stem+"_", campaign, log)
	if err != nil {
		return nil, nil, err
	}
	survivalManifest, err := stagePlots(set, SurvivalPlotPrefix, survivalFigures, log)
	if err != nil {
		return nil, nil, err
	}
	manifest = append(manifest, survivalManifest...)
	if _, err := set.Add(stem+SuffixPlots, func(w io.Writer) error { return writeJSON(w, manifest) }); err != nil {
		return nil, nil, fmt.Errorf("write chart manifest: %w", err)
	}
	log.Debug("charts drawn", "charts", len(manifest), "duration_ms", time.Since(start).Milliseconds())

	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	names := set.Names()
	if err := set.Commit(); err != nil {
		return nil, nil, fmt.Errorf("write phase 4 files: %w", err)
	}
	return report, names, nil
}

// stageAnalysis stages the greedy-vs-exact comparison and, as params
// ask, the budget sweep and the scenario analysis. It returns the sweep,
// or nil when none was run.
func stageAnalysis(ctx context.Context, set *optimize.FileSet, stem string, report *optimize.Report, scores *dataset.Scores,
	params jobs.Params, cfg optimize.Config, log *slog.Logger) (*optimize.Sweep, error) {
	budgets := []int64{report.BudgetCents}
	var sweep *optimize.Sweep
	if params.RunSweep {
		var err error
		if sweep, err = report.Sweep(ctx, cfg); err != nil {
			return nil, err
		}
		if _, err := set.Add(stem+optimize.SuffixSweep, sweep.WriteCSV); err != nil {
			return nil, fmt.Errorf("write budget sweep: %w", err)
		}
		budgets = append(budgets, cfg.SweepBudgets()...)
		log.Info("budget sweep solved", "budgets", len(sweep.Points),
			"exact_seconds", sweep.ExactSeconds, "greedy_seconds", sweep.GreedySeconds)
	}

	rows, err := report.CompareBudgets(ctx, budgets, cfg)
	if err != nil {
		return nil, err
	}
	write := func(w io.Writer) error { return optimize.WriteComparisonCSV(w, rows) }
	if _, err := set.Add(stem+optimize.SuffixComparison, write); err != nil {
		return nil, fmt.Errorf("write solver comparison: %w", err)
	}

	if params.RunScenarios {
		oreq := report.Request
		results, err := optimize.RunScenarios(ctx, scores, oreq, cfg, log)
		if err != nil {
			return nil, err
		}
		write := func(w io.Writer) error { return optimize.WriteScenariosCSV(w, results) }
		if _, err := set.Add(stem+optimize.SuffixScenarios, write); err != nil {
			return nil, fmt.Errorf("write scenarios: %w", err)
		}
		log.Info("scenarios solved", "scenarios", len(results))
	}
	return sweep, nil
}

// stagePlots renders every drawn figure as prefix + name + ".png" into
// set and returns their manifest entries, skipped figures included.
func stagePlots(set *optimize.FileSet, prefix string, figures []plots.Figure, log *slog.Logger) ([]PlotEntry, error) {
	images, err := renderFigures(figures)
	if err != nil {
		return nil, err
	}
	entries := make([]PlotEntry, 0, len(figures))
	for k, f := range figures {
		e := PlotEntry{Name: f.Name, Title: f.Title, Skipped: f.Skipped}
		if f.Skipped != "" {
			log.Info("chart skipped", "chart", f.Name, "reason", f.Skipped)
			entries = append(entries, e)
			continue
		}
		path, err := set.Add(prefix+f.Name+".png", func(w io.Writer) error {
			_, err := w.Write(images[k])
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("write chart %s: %w", f.Name, err)
		}
		e.File = filepath.Base(path)
		entries = append(entries, e)
	}
	return entries, nil
}

// renderFigures renders the drawn figures as PNG images, on as many
// goroutines as GOMAXPROCS allows, and returns them by position, with nil
// for a skipped figure. Rendering dominates the time of Phase 4. Separate
// figures share only the font cache of gonum/plot, which v0.17.0 guards
// with a lock.
func renderFigures(figures []plots.Figure) ([][]byte, error) {
	images := make([][]byte, len(figures))
	errs := make([]error, len(figures))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for k, f := range figures {
		if f.Skipped != "" {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			var buf bytes.Buffer
			if err := f.WritePNG(&buf); err != nil {
				errs[k] = err
				return
			}
			images[k] = buf.Bytes()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("draw charts: %w", err)
	}
	return images, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
