package pipeline

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/optimize"
	"github.com/ecomopti/ecomopti/phases/plots"
	"github.com/ecomopti/ecomopti/store"
)

// CampaignStore keeps the history of optimisation calls. *store.Store
// implements it.
type CampaignStore interface {
	// AddCampaigns stores records and deletes the oldest beyond keep.
	AddCampaigns(cs []*store.Campaign, keep int) (int, error)
	// Campaign returns one record or an error wrapping jobs.ErrNotFound.
	Campaign(id string) (*store.Campaign, error)
	// SetCampaignFiles adds files to a record.
	SetCampaignFiles(id string, files map[string]string) (*store.Campaign, error)
}

// CampaignsDir is the folder of an optimisation call's files inside a run
// folder.
const CampaignsDir = "campaigns"

// MaxPendingCampaigns is the number of campaign records that may wait for
// their database write. A call that finds the queue full waits for its
// own record to be written, which slows calls down to the speed of the
// database instead of letting the queue grow.
const MaxPendingCampaigns = 10_000

// Batching of campaign records. The background writer waits up to
// CampaignBatchDelay after the first record of a batch for more records
// to queue, unless a reader is waiting in flush or CampaignBatchSize
// records are queued. Each transaction costs two fdatasync calls, so
// under load this turns hundreds of small transactions per second into
// about one per CampaignBatchDelay. In exchange, a crash of the process
// can lose the records of the calls of the last CampaignBatchDelay, which
// were queued but not yet written.
const (
	CampaignBatchDelay = 10 * time.Millisecond
	CampaignBatchSize  = 1000
)

// campaignHistory records optimisation calls in a CampaignStore. Records
// are written in the background, so a call does not wait for the disk:
// every record queued while a write is in flight or during the batch delay
// goes into the next transaction (group commit). Readers call flush
// first, so they see every call that returned before they asked.
type campaignHistory struct {
	store CampaignStore
	log   *slog.Logger

	mu      sync.Mutex
	keep    int
	pending []*pendingCampaign
	writing bool
	// flushes counts the flush markers in pending.
	flushes int
	// wake cuts the batch delay short; it is created on first use and
	// has room for one signal.
	wake chan struct{}
	// delay is the batch delay; 0 means CampaignBatchDelay.
	delay time.Duration
}

// pendingCampaign is a queued record, or a flush marker when rec is nil.
// done receives the outcome of the write.
type pendingCampaign struct {
	rec  *store.Campaign
	done chan error
}

// newCampaignHistory returns the history of s, or nil when s cannot store
// campaign records.
func newCampaignHistory(s jobs.Store, log *slog.Logger) *campaignHistory {
	cs, ok := s.(CampaignStore)
	if !ok {
		return nil
	}
	return &campaignHistory{store: cs, log: log, keep: store.CampaignHistoryDefault}
}

// add queues rec for writing and returns a channel that receives the
// outcome. full reports that the queue held MaxPendingCampaigns records or
// more, in which case the caller should wait on the channel.
func (h *campaignHistory) add(rec *store.Campaign) (done <-chan error, full bool) {
	p := &pendingCampaign{rec: rec, done: make(chan error, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	full = len(h.pending) >= MaxPendingCampaigns
	h.pending = append(h.pending, p)
	if rec == nil {
		h.flushes++
	}
	if h.wake == nil {
		h.wake = make(chan struct{}, 1)
	}
	if h.urgent() {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
	if !h.writing {
		h.writing = true
		go h.drain()
	}
	return p.done, full
}

// urgent reports whether the queue must be written without the batch
// delay; h.mu must be held.
func (h *campaignHistory) urgent() bool {
	return h.flushes > 0 || len(h.pending) >= CampaignBatchSize
}

// flush returns once every record queued before the call is written.
func (h *campaignHistory) flush() {
	done, _ := h.add(nil)
	<-done
}

// drain writes the queued records, batch after batch, until the queue is
// empty, and then ends. Before each batch it waits for more records as
// described at CampaignBatchDelay.
func (h *campaignHistory) drain() {
	h.mu.Lock()
	for len(h.pending) > 0 {
		if !h.urgent() {
			wake, delay := h.wake, cmp.Or(h.delay, CampaignBatchDelay)
			h.mu.Unlock()
			timer := time.NewTimer(delay)
			select {
			case <-timer.C:
			case <-wake:
			}
			timer.Stop()
			h.mu.Lock()
		}
		batch, keep := h.pending, h.keep
		h.pending, h.flushes = nil, 0
		// A signal left from a batch already taken would cut the next
		// delay short.
		select {
		case <-h.wake:
		default:
		}
		h.mu.Unlock()
		h.write(batch, keep)
		h.mu.Lock()
	}
	h.writing = false
	h.mu.Unlock()
}

// write stores one batch in one transaction. When the batch fails as a
// whole, each record is tried alone, so one bad record cannot lose the
// others. Failures are logged here, because the calls that queued the
// records have usually returned.
func (h *campaignHistory) write(batch []*pendingCampaign, keep int) {
	var recs []*store.Campaign
	for _, p := range batch {
		if p.rec != nil {
			recs = append(recs, p.rec)
		}
	}
	var pruned int
	var err error
	if len(recs) > 0 {
		pruned, err = h.store.AddCampaigns(recs, keep)
	}
	if err != nil && len(recs) > 1 {
		for _, p := range batch {
			if p.rec == nil {
				p.done <- nil
				continue
			}
			n, err := h.store.AddCampaigns([]*store.Campaign{p.rec}, keep)
			pruned += n
			if err != nil {
				h.log.Error("record campaign", "campaign_id", p.rec.ID, "err", err)
			}
			p.done <- err
		}
	} else {
		if err != nil {
			h.log.Error("record campaign", "campaign_id", recs[0].ID, "err", err)
		}
		for _, p := range batch {
			p.done <- err
		}
	}
	if pruned > 0 {
		h.log.Debug("campaign history pruned", "records", pruned, "keep", keep)
	}
}

// FlushCampaigns returns once every optimisation call that returned before
// it was called is in the campaign history. Readers of the history call it
// first, because records are written in the background.
func (o *Optimizer) FlushCampaigns() {
	if o.history != nil {
		o.history.flush()
	}
}

// SetCampaignHistoryLimit sets how many campaign records the history
// keeps; older ones are deleted first. The default is
// store.CampaignHistoryDefault, and n <= 0 keeps every record.
func (o *Optimizer) SetCampaignHistoryLimit(n int) {
	if o.history == nil {
		return
	}
	o.history.mu.Lock()
	o.history.keep = n
	o.history.mu.Unlock()
}

// record queues one optimisation call for the campaign history and, for a
// success, sets res.CampaignID. A failed write is logged, not returned,
// because the call itself succeeded or failed on its own.
func (o *Optimizer) record(req OptimizeRequest, start time.Time, res *OptimizeResult, callErr error) {
	if o.history == nil {
		return
	}
	id, err := uuid.NewV7()
	if err != nil {
		o.log.Error("new campaign id", "err", err)
		return
	}
	rec := &store.Campaign{
		ID:         id.String(),
		CreatedAt:  start.UTC(),
		Split:      req.Split,
		Model:      req.Model,
		Budget:     req.Budget,
		DurationMS: float64(time.Since(start).Microseconds()) / 1000,
	}
	if callErr == nil && res != nil {
		rec.Status = store.CampaignComplete
		rec.RunID, rec.Solver, rec.Optimal, rec.Cached = res.RunID, res.Solver, res.Optimal, res.Cached
		rec.DurationMS = res.DurationMS
		rec.Metrics = res.detailJSON
		if rec.Metrics == nil {
			if rec.Metrics, err = json.Marshal(res.Detail); err != nil {
				o.log.Error("encode campaign metrics", "campaign_id", rec.ID, "err", err)
				rec.Metrics = nil
			}
		}
		rec.Files = map[string]string{}
		for kind, path := range res.Files.byKind() {
			if rel, err := filepath.Rel(o.dataDir, path); err == nil && path != "" {
				rec.Files[kind] = filepath.ToSlash(rel)
			}
		}
	} else {
		rec.Status, rec.Error = campaignStatus(callErr), callErr.Error()
		if run, err := o.store.Latest(); err == nil {
			rec.RunID = run.ID
		}
	}
	// The id is known before the write, so the response can carry it while
	// the record is still queued.
	if res != nil {
		res.CampaignID = rec.ID
	}
	if done, full := o.history.add(rec); full {
		<-done
	}
}

// campaignStatus names the outcome of a failed call.
func campaignStatus(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return store.CampaignTimedOut
	case errors.Is(err, context.Canceled):
		return store.CampaignCanceled
	}
	return store.CampaignFailed
}

// byKind maps each output kind, named as in the JSON, to its path.
func (f OptimizeFiles) byKind() map[string]string {
	return map[string]string{
		"crm_export":        f.CRMExport,
		"report":            f.Report,
		"summary":           f.Summary,
		"segment_deep_dive": f.SegmentDeepDive,
	}
}

// ErrNoCampaignHistory is returned by CampaignPlots when the Optimizer's
// store keeps no campaign history.
var ErrNoCampaignHistory = errors.New("campaign history is not available: the job store does not record campaigns")

// ErrCampaignNotComplete is returned by CampaignPlots for a recorded call
// that did not complete, because there is no selection to draw.
var ErrCampaignNotComplete = errors.New("campaign did not complete")

// plotsDraw is a chart drawing in progress for one campaign id; done is
// closed when rec and err are set.
type plotsDraw struct {
	done chan struct{}
	rec  *store.Campaign
	err  error
	// waiters counts the calls waiting for this drawing; guarded by
	// Optimizer.mu.
	waiters int
}

// CampaignPlots draws the campaign charts of a recorded optimisation call
// into the campaigns folder of its run and adds them to the record's
// files, which it returns. The charts are drawn here, on request, and not
// during the call, because drawing takes a few hundred milliseconds while
// the call itself must stay within milliseconds.
//
// Concurrent calls for the same id wait for one drawing and share its
// result. Drawings of different ids run one at a time, so a call waits,
// until ctx ends, for the drawing before it. When the drawing that a call
// waits for fails only because its own caller's ctx ended, the waiting
// call draws again with its own ctx.
//
// It solves the recorded request again on the recorded run's scores,
// which selects the same customers because the solvers are deterministic,
// and runs the budget sweep for the sweep chart. Every chart file is
// staged and renamed into place only once all are drawn, so a ctx that
// ends early leaves none behind. Errors: an unknown id wraps
// jobs.ErrNotFound, a call that did not complete
// ErrCampaignNotComplete, and a run whose folder is gone the read error.
func (o *Optimizer) CampaignPlots(ctx context.Context, id string) (*store.Campaign, error) {
	if o.history == nil {
		return nil, ErrNoCampaignHistory
	}
	for {
		o.mu.Lock()
		d, ok := o.draws[id]
		if !ok {
			d = &plotsDraw{done: make(chan struct{})}
			o.draws[id] = d
		} else {
			d.waiters++
		}
		o.mu.Unlock()

		if !ok {
			d.rec, d.err = o.drawPlots(ctx, id)
			o.mu.Lock()
			delete(o.draws, id)
			o.mu.Unlock()
			close(d.done)
			return cloneCampaign(d.rec), d.err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-d.done:
		}
		if d.err == nil || !isContextError(d.err) {
			return cloneCampaign(d.rec), d.err
		}
	}
}

// cloneCampaign copies a record shared between callers, with its own
// Files map.
func cloneCampaign(c *store.Campaign) *store.Campaign {
	if c == nil {
		return nil
	}
	out := *c
	out.Files = maps.Clone(c.Files)
	return &out
}

// drawPlots does the work of CampaignPlots for one id.
func (o *Optimizer) drawPlots(ctx context.Context, id string) (*store.Campaign, error) {
	o.history.flush()
	rec, err := o.history.store.Campaign(id)
	if err != nil {
		return nil, err
	}
	if rec.Status != store.CampaignComplete || rec.RunID == "" {
		return nil, fmt.Errorf("draw campaign %s: %w: its status is %s", id, ErrCampaignNotComplete, rec.Status)
	}
	run, err := o.store.Job(rec.RunID)
	if err != nil {
		return nil, fmt.Errorf("draw campaign %s: run %s: %w", id, rec.RunID, err)
	}
	// One drawing at a time, and stageCampaignPlots renders on this
	// goroutine, so charts use at most one core and optimize calls keep
	// the other.
	select {
	case o.drawing <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-o.drawing }()
	if o.drawHook != nil {
		o.drawHook(id)
	}

	runDir := filepath.Join(o.dataDir, run.RunDir)
	scores, err := ReadScores(PhaseDir(runDir, PhaseUplift), rec.Split)
	if err != nil {
		return nil, fmt.Errorf("draw campaign %s: %w", id, err)
	}
	oreq := optimize.Request{Split: rec.Split, Model: rec.Model, Budget: rec.Budget}
	log := o.log.With("campaign_id", id)
	report, err := optimize.Optimize(ctx, scores, oreq, o.cfg, log)
	if err != nil {
		return nil, fmt.Errorf("draw campaign %s: %w", id, err)
	}
	sweep, err := report.Sweep(ctx, o.cfg)
	if err != nil {
		return nil, fmt.Errorf("draw campaign %s: %w", id, err)
	}
	figures, err := plots.Campaign(plots.CampaignInput{Report: report, Sweep: sweep, Scores: scores})
	if err != nil {
		return nil, fmt.Errorf("draw campaign %s: %w", id, err)
	}

	dir := filepath.Join(runDir, CampaignsDir)
	set := optimize.NewFileSet(dir)
	defer set.Abort()
	stem := Stem(oreq)
	// Charts of the latest run join the set of their stem in the file-set
	// index, so the limit deletes them with the other outputs and the
	// index does not delete the set while they are written.
	// The staged names are taken before Commit, and removing a name that
	// was never committed does nothing.
	var staged []string
	if latest, err := o.store.Latest(); err == nil && latest.ID == run.ID {
		ix, limit := o.fileIndex(run)
		if err := ix.begin(stem); err != nil {
			return nil, fmt.Errorf("draw campaign %s: read campaign folder: %w", id, err)
		}
		defer func() { o.releaseFiles(ix, stem, staged, nil, limit) }()
	}
	manifest, err := stageCampaignPlots(ctx, set, stem+"_", figures, log)
	if err != nil {
		return nil, fmt.Errorf("draw campaign %s: %w", id, err)
	}
	manifestPath, err := set.Add(stem+SuffixPlots, func(w io.Writer) error { return writeJSON(w, manifest) })
	if err != nil {
		return nil, fmt.Errorf("draw campaign %s: write chart manifest: %w", id, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	staged = set.Names()
	if err := set.Commit(); err != nil {
		return nil, fmt.Errorf("draw campaign %s: %w", id, err)
	}

	rel := func(name string) string {
		r, _ := filepath.Rel(o.dataDir, filepath.Join(dir, name))
		return filepath.ToSlash(r)
	}
	files := map[string]string{"plots": rel(filepath.Base(manifestPath))}
	for _, e := range manifest {
		if e.File != "" {
			files["plot_"+e.Name] = rel(e.File)
		}
	}
	return o.history.store.SetCampaignFiles(id, files)
}

// stageCampaignPlots renders figures into set one after another, on the
// calling goroutine, and returns their manifest entries. It differs from
// stagePlots, which renders on GOMAXPROCS goroutines for a pipeline run,
// because a campaign drawing shares the machine with optimize calls. It
// stops with ctx's error between figures.
func stageCampaignPlots(ctx context.Context, set *optimize.FileSet, prefix string, figures []plots.Figure, log *slog.Logger) ([]PlotEntry, error) {
	entries := make([]PlotEntry, 0, len(figures))
	for _, f := range figures {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e := PlotEntry{Name: f.Name, Title: f.Title, Skipped: f.Skipped}
		if f.Skipped != "" {
			log.Info("chart skipped", "chart", f.Name, "reason", f.Skipped)
			entries = append(entries, e)
			continue
		}
		path, err := set.Add(prefix+f.Name+".png", f.WritePNG)
		if err != nil {
			return nil, fmt.Errorf("draw charts: %s: %w", f.Name, err)
		}
		e.File = filepath.Base(path)
		entries = append(entries, e)
	}
	return entries, nil
}

// Optimize solves one request on the latest completed run, or returns the
// cached result of an earlier identical one, and records the call in the
// campaign history, failures included. With no completed run it returns
// an error wrapping jobs.ErrNoCompletedRun. When ctx expires it returns
// ctx's error and writes no files.
func (o *Optimizer) Optimize(ctx context.Context, req OptimizeRequest) (*OptimizeResult, error) {
	start := time.Now()
	res, err := o.solveOrReuse(ctx, req)
	o.record(req, start, res, err)
	return res, err
}
