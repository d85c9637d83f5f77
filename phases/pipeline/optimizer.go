package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/dataset"
	"github.com/ecomopti/ecomopti/phases/optimize"
)

// OptimizeRequest is one synchronous budget optimisation.
type OptimizeRequest struct {
	Split  string
	Model  string
	Budget float64 // dollars
}

// OptimizeMetrics are the headline figures of an optimisation.
type OptimizeMetrics struct {
	CustomersSelected    int     `json:"customers_selected"`
	NetProfit            float64 `json:"net_profit"`
	ROI                  float64 `json:"roi"`
	TotalCost            float64 `json:"total_cost"`
	IncrementalCLVImpact float64 `json:"incremental_clv_impact"`
	NetValue             float64 `json:"net_value"`
}

// OptimizeFiles are the outputs of an optimisation.
type OptimizeFiles struct {
	CRMExport string `json:"crm_export"`
	Report    string `json:"report"`
	Summary   string `json:"summary"`
}

// OptimizeResult is the response body of POST /phase4/optimize.
type OptimizeResult struct {
	Status  string          `json:"status"` // always "complete"
	Split   string          `json:"split"`
	Model   string          `json:"model"`
	Budget  float64         `json:"budget"`
	RunID   string          `json:"run_id"`
	Solver  string          `json:"solver"`
	Optimal bool            `json:"optimal"`
	Metrics OptimizeMetrics `json:"metrics"`
	// Files are absolute paths on the server; Downloads are the same files
	// as URL paths served by GET /files.
	Files      OptimizeFiles     `json:"files"`
	Downloads  OptimizeFiles     `json:"downloads"`
	Detail     *optimize.Metrics `json:"detail"`
	DurationMS float64           `json:"duration_ms"`
}

// Optimizer solves budget optimisations on the artifacts of the latest
// completed run. Scores are read once per run and split and then shared by
// concurrent calls, which only read them.
type Optimizer struct {
	store   jobs.Store
	dataDir string
	cfg     optimize.Config
	log     *slog.Logger

	mu    sync.Mutex
	runID string
	cache map[string]*dataset.Scores
}

// NewOptimizer returns an Optimizer reading runs below dataDir.
func NewOptimizer(store jobs.Store, dataDir string, cfg optimize.Config, log *slog.Logger) *Optimizer {
	return &Optimizer{store: store, dataDir: dataDir, cfg: cfg, log: log, cache: map[string]*dataset.Scores{}}
}

// scores returns the cached scores of a split of run, reading them on
// first use. A new latest run empties the cache.
func (o *Optimizer) scores(run *jobs.Job, split string) (*dataset.Scores, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.runID != run.ID {
		o.runID, o.cache = run.ID, map[string]*dataset.Scores{}
	}
	if s, ok := o.cache[split]; ok {
		return s, nil
	}
	s, err := ReadScores(PhaseDir(filepath.Join(o.dataDir, run.RunDir), PhaseUplift), split)
	if err != nil {
		return nil, err
	}
	o.cache[split] = s
	return s, nil
}

// Optimize solves one request. With no completed run it returns an error
// wrapping jobs.ErrNoCompletedRun; when ctx expires it returns ctx's error
// and writes no files.
func (o *Optimizer) Optimize(ctx context.Context, req OptimizeRequest) (*OptimizeResult, error) {
	start := time.Now()
	run, err := o.store.Latest()
	if err != nil {
		return nil, err
	}
	scores, err := o.scores(run, req.Split)
	if err != nil {
		return nil, err
	}
	oreq := optimize.Request{Split: req.Split, Model: req.Model, Budget: req.Budget}
	report, err := optimize.Optimize(ctx, scores, oreq, o.cfg, o.log)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir := filepath.Join(o.dataDir, run.RunDir, "campaigns")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create campaign folder: %w", err)
	}
	files, err := report.WriteFiles(dir, Stem(oreq))
	if err != nil {
		return nil, err
	}
	res := &OptimizeResult{
		Status:  "complete",
		Split:   req.Split,
		Model:   req.Model,
		Budget:  req.Budget,
		RunID:   run.ID,
		Solver:  report.Solver,
		Optimal: report.Optimal,
		Metrics: OptimizeMetrics{
			CustomersSelected:    report.Metrics.CustomersSelected,
			NetProfit:            report.Metrics.NetProfit,
			ROI:                  report.Metrics.ROI,
			TotalCost:            report.Metrics.TotalCost,
			IncrementalCLVImpact: report.Metrics.IncrementalCLVImpact,
			NetValue:             report.Metrics.NetValue,
		},
		Files:  OptimizeFiles{CRMExport: files.CRMExport, Report: files.Report, Summary: files.Summary},
		Detail: &report.Metrics,
	}
	res.Downloads = OptimizeFiles{
		CRMExport: o.downloadURL(files.CRMExport),
		Report:    o.downloadURL(files.Report),
		Summary:   o.downloadURL(files.Summary),
	}
	res.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	return res, nil
}

// downloadURL maps a file below the data directory to its GET /files URL.
func (o *Optimizer) downloadURL(path string) string {
	rel, err := filepath.Rel(o.dataDir, path)
	if err != nil {
		return ""
	}
	return "/files/" + filepath.ToSlash(rel)
}
