package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/dataset"
	"github.com/ecomopti/ecomopti/phases/optimize"
	"github.com/ecomopti/ecomopti/store"
)

// campaignBundle is an Optimizer over a real store with one completed run
// whose Phase 3 folder holds synthetic test-split scores.
type campaignBundle struct {
	dataDir string
	store   *store.Store
	opt     *Optimizer
	run     *jobs.Job
}

func setupCampaigns(t *testing.T) *campaignBundle {
	t.Helper()
	dataDir := t.TempDir()
	st, err := store.Open(filepath.Join(dataDir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now()
	job, _, err := Submit(st, testParams, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ClaimNext(now, "test"); err != nil {
		t.Fatal(err)
	}
	if job, err = st.Complete(job.ID, now, "test"); err != nil {
		t.Fatal(err)
	}
	phase3 := PhaseDir(filepath.Join(dataDir, job.RunDir), PhaseUplift)
	if err := os.MkdirAll(phase3, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(phase3, "uplift_test.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := dataset.WriteScores(f, campaignScores(400)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return &campaignBundle{dataDir: dataDir, store: st, opt: NewOptimizer(st, dataDir, optimize.DefaultConfig(), discard), run: job}
}

// campaignScores draws n customers with every uplift model and a true
// uplift, with a fixed seed.
func campaignScores(n int) *dataset.Scores {
	rng := rand.New(rand.NewPCG(31, 32))
	s := &dataset.Scores{Uplift: map[string][]float64{}}
	for i := range n {
		s.IDs = append(s.IDs, fmt.Sprintf("%04d-TEST", i))
		s.Churned = append(s.Churned, float64(rng.IntN(5)/4))
		s.Tenure = append(s.Tenure, float64(rng.IntN(73)))
		s.P0 = append(s.P0, 0.05+0.5*rng.Float64())
		s.CLV = append(s.CLV, 100+900*rng.Float64())
		truth := -0.05 + 0.25*rng.Float64()
		s.TrueUplift = append(s.TrueUplift, truth)
		for _, m := range dataset.Models {
			s.Uplift[m] = append(s.Uplift[m], truth+0.02*rng.NormFloat64())
		}
	}
	return s
}

func TestOptimizeRecordsCampaign(t *testing.T) {
	b := setupCampaigns(t)
	req := OptimizeRequest{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: 500}
	res, err := b.opt.Optimize(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.CampaignID == "" {
		t.Fatal("result has no campaign id")
	}
	b.opt.FlushCampaigns()
	rec, err := b.store.Campaign(res.CampaignID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != store.CampaignComplete || rec.RunID != b.run.ID || rec.Split != req.Split || rec.Model != req.Model || rec.Budget != req.Budget {
		t.Errorf("record %+v does not match the call", rec)
	}
	if rec.Solver != res.Solver || rec.Optimal != res.Optimal || rec.DurationMS <= 0 {
		t.Errorf("record solver %s optimal %v duration %v, result %s %v", rec.Solver, rec.Optimal, rec.DurationMS, res.Solver, res.Optimal)
	}
	var metrics optimize.Metrics
	if err := json.Unmarshal(rec.Metrics, &metrics); err != nil || metrics.NetValue != res.Metrics.NetValue {
		t.Errorf("record metrics %s (%v), want net value %v", rec.Metrics, err, res.Metrics.NetValue)
	}
	for _, kind := range []string{"crm_export", "report", "summary", "segment_deep_dive"} {
		rel := rec.Files[kind]
		if rel == "" || strings.HasPrefix(rel, "/") || !strings.HasPrefix(rel, "runs/") {
			t.Errorf("file %s = %q, want a path below runs/ relative to the data directory", kind, rel)
			continue
		}
		if _, err := os.Stat(filepath.Join(b.dataDir, filepath.FromSlash(rel))); err != nil {
			t.Errorf("file %s: %v", kind, err)
		}
	}
	if res.Files.SegmentDeepDive == "" || res.Downloads.SegmentDeepDive != "/files/"+rec.Files["segment_deep_dive"] {
		t.Errorf("deep-dive file %q download %q, want a download of %q", res.Files.SegmentDeepDive, res.Downloads.SegmentDeepDive, rec.Files["segment_deep_dive"])
	}

	// The same request again is served from the cache and recorded anew.
	again, err := b.opt.Optimize(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	b.opt.FlushCampaigns()
	rec2, err := b.store.Campaign(again.CampaignID)
	if err != nil {
		t.Fatal(err)
	}
	if again.CampaignID == res.CampaignID || !rec2.Cached || rec2.Files["report"] != rec.Files["report"] {
		t.Errorf("second call: id %s (first %s), cached %v, report %q", again.CampaignID, res.CampaignID, rec2.Cached, rec2.Files["report"])
	}
}

func TestOptimizeRecordsFailures(t *testing.T) {
	b := setupCampaigns(t)
	// $1 cannot pay for the segment minimums.
	_, err := b.opt.Optimize(context.Background(), OptimizeRequest{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: 1})
	if !errors.Is(err, optimize.ErrInfeasible) {
		t.Fatalf("err %v, want ErrInfeasible", err)
	}
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err = b.opt.Optimize(ctx, OptimizeRequest{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: 700})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want DeadlineExceeded", err)
	}
	b.opt.FlushCampaigns()
	recs, err := b.store.Campaigns(store.CampaignFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	timedOut, failed := recs[0], recs[1]
	if failed.Status != store.CampaignFailed || !strings.Contains(failed.Error, "segment minimums") || failed.RunID != b.run.ID {
		t.Errorf("infeasible call recorded as %+v", failed)
	}
	if timedOut.Status != store.CampaignTimedOut || timedOut.Budget != 700 || len(timedOut.Files) != 0 {
		t.Errorf("timed-out call recorded as %+v", timedOut)
	}
	// Neither call may leave a file, finished or temporary.
	entries, _ := os.ReadDir(filepath.Join(b.dataDir, b.run.RunDir, CampaignsDir))
	for _, e := range entries {
		t.Errorf("failed calls left %s", e.Name())
	}
}

// TestOptimizeConcurrentCallsAllRecorded runs many calls at once and
// checks that each is recorded once, through batched commits, and that
// the history cap holds.
func TestOptimizeConcurrentCallsAllRecorded(t *testing.T) {
	b := setupCampaigns(t)
	const calls = 40
	ids := make([]string, calls)
	var wg sync.WaitGroup
	for k := range calls {
		wg.Go(func() {
			req := OptimizeRequest{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: float64(300 + 25*(k%10))}
			res, err := b.opt.Optimize(context.Background(), req)
			if err != nil {
				t.Error(err)
				return
			}
			ids[k] = res.CampaignID
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || seen[id] {
			t.Errorf("campaign id %q is empty or repeated", id)
		}
		seen[id] = true
	}
	b.opt.FlushCampaigns()
	if n, err := b.store.CampaignCount(); err != nil || n != calls {
		t.Errorf("%d records (%v), want %d", n, err, calls)
	}

	b.opt.SetCampaignHistoryLimit(5)
	res, err := b.opt.Optimize(context.Background(), OptimizeRequest{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: 300})
	if err != nil {
		t.Fatal(err)
	}
	b.opt.FlushCampaigns()
	recs, err := b.store.Campaigns(store.CampaignFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 5 || recs[0].ID != res.CampaignID {
		t.Errorf("after capping at 5: %d records, newest %s, want 5 with %s first", len(recs), recs[0].ID, res.CampaignID)
	}
}

// blockingStore is a CampaignStore whose first AddCampaigns waits until
// release is closed, so later records queue up behind it.
type blockingStore struct {
	mu      sync.Mutex
	batches []int
	stored  map[string]bool
	entered chan struct{}
	release chan struct{}
	bad     string // a record id that fails
}

func (s *blockingStore) AddCampaigns(cs []*store.Campaign, keep int) (int, error) {
	s.mu.Lock()
	first := len(s.batches) == 0
	s.batches = append(s.batches, len(cs))
	s.mu.Unlock()
	if first {
		close(s.entered)
		<-s.release
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		if c.ID == s.bad {
			return 0, errors.New("bad record")
		}
	}
	for _, c := range cs {
		s.stored[c.ID] = true
	}
	return 0, nil
}

func (s *blockingStore) Campaign(string) (*store.Campaign, error) { return nil, jobs.ErrNotFound }

func (s *blockingStore) SetCampaignFiles(string, map[string]string) (*store.Campaign, error) {
	return nil, jobs.ErrNotFound
}

func TestCampaignHistoryGroupCommit(t *testing.T) {
	bs := &blockingStore{stored: map[string]bool{}, entered: make(chan struct{}), release: make(chan struct{}), bad: "bad"}
	h := &campaignHistory{store: bs, log: discard, keep: 100}

	errs := make(chan error, 12)
	var wg sync.WaitGroup
	wg.Go(func() { errs <- addAndWait(h, &store.Campaign{ID: "first"}) })
	<-bs.entered
	for k := range 10 {
		id := fmt.Sprintf("queued%d", k)
		if k == 3 {
			id = "bad"
		}
		wg.Go(func() { errs <- addAndWait(h, &store.Campaign{ID: id}) })
	}
	// Wait until all ten are queued behind the blocked write.
	for deadline := time.Now().Add(5 * time.Second); ; {
		h.mu.Lock()
		n := len(h.pending)
		h.mu.Unlock()
		if n == 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d records queued, want 10", n)
		}
		time.Sleep(time.Millisecond)
	}
	close(bs.release)
	wg.Wait()
	close(errs)

	failures := 0
	for err := range errs {
		if err != nil {
			failures++
		}
	}
	if failures != 1 {
		t.Errorf("%d calls failed, want only the bad record's", failures)
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	// One write for the first record, one batch of ten that fails on the
	// bad record, then ten single retries.
	if len(bs.batches) != 12 || bs.batches[0] != 1 || bs.batches[1] != 10 {
		t.Errorf("batches %v, want [1 10] then ten retries of 1", bs.batches)
	}
	if len(bs.stored) != 10 || bs.stored["bad"] {
		t.Errorf("stored %d records (bad one stored: %v), want the 10 good ones", len(bs.stored), bs.stored["bad"])
	}
}

// addAndWait queues rec and waits for the outcome of its write.
func addAndWait(h *campaignHistory, rec *store.Campaign) error {
	done, _ := h.add(rec)
	return <-done
}

// TestCampaignHistoryBackPressure fills the queue behind a blocked write
// and checks that the next record is reported full, that flush waits for
// everything queued before it, and that nothing is lost.
func TestCampaignHistoryBackPressure(t *testing.T) {
	bs := &blockingStore{stored: map[string]bool{}, entered: make(chan struct{}), release: make(chan struct{})}
	h := &campaignHistory{store: bs, log: discard, keep: 0}
	first, full := h.add(&store.Campaign{ID: "first"})
	if full {
		t.Fatal("an empty queue is reported full")
	}
	<-bs.entered
	for k := range MaxPendingCampaigns {
		if _, full := h.add(&store.Campaign{ID: fmt.Sprintf("queued%05d", k)}); full {
			t.Fatalf("record %d is reported full, want room for %d", k, MaxPendingCampaigns)
		}
	}
	last, full := h.add(&store.Campaign{ID: "over"})
	if !full {
		t.Errorf("record %d is not reported full", MaxPendingCampaigns+1)
	}
	flushed := make(chan struct{})
	go func() { h.flush(); close(flushed) }()
	select {
	case <-flushed:
		t.Fatal("flush returned while the first write was still blocked")
	case <-time.After(20 * time.Millisecond):
	}
	close(bs.release)
	<-flushed
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-last; err != nil {
		t.Fatal(err)
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if len(bs.stored) != MaxPendingCampaigns+2 {
		t.Errorf("%d records stored, want %d", len(bs.stored), MaxPendingCampaigns+2)
	}
}

func TestCampaignPlots(t *testing.T) {
	b := setupCampaigns(t)
	res, err := b.opt.Optimize(context.Background(), OptimizeRequest{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: 600})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := b.opt.CampaignPlots(context.Background(), res.CampaignID)
	if err != nil {
		t.Fatal(err)
	}
	plots := 0
	for kind, rel := range rec.Files {
		if !strings.HasPrefix(kind, "plot_") {
			continue
		}
		plots++
		f, err := os.Open(filepath.Join(b.dataDir, filepath.FromSlash(rel)))
		if err != nil {
			t.Errorf("%s: %v", kind, err)
			continue
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil || cfg.Width != 1200 || cfg.Height != 750 {
			t.Errorf("%s: %d × %d (%v), want a 1200 × 750 PNG", kind, cfg.Width, cfg.Height, err)
		}
	}
	if plots != 6 || rec.Files["plots"] == "" || rec.Files["report"] == "" {
		t.Errorf("record files %v, want the six charts, the manifest and the original outputs", rec.Files)
	}
	stored, err := b.store.Campaign(res.CampaignID)
	if err != nil || len(stored.Files) != len(rec.Files) {
		t.Errorf("stored record has %d files (%v), want %d", len(stored.Files), err, len(rec.Files))
	}

	// A failed call has nothing to draw.
	_, err = b.opt.Optimize(context.Background(), OptimizeRequest{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: 1})
	if err == nil {
		t.Fatal("a $1 campaign succeeded")
	}
	b.opt.FlushCampaigns()
	recs, _ := b.store.Campaigns(store.CampaignFilter{Limit: 1})
	if _, err := b.opt.CampaignPlots(context.Background(), recs[0].ID); !errors.Is(err, ErrCampaignNotComplete) {
		t.Errorf("plots of a failed call: %v, want ErrCampaignNotComplete", err)
	}
	if _, err := b.opt.CampaignPlots(context.Background(), "0190c7e0-0000-7000-8000-000000000000"); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("plots of an unknown id: %v, want ErrNotFound", err)
	}
}

// countingStore is a CampaignStore that records the size of each batch.
type countingStore struct {
	mu      sync.Mutex
	batches []int
}

func (s *countingStore) AddCampaigns(cs []*store.Campaign, keep int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, len(cs))
	return 0, nil
}

func (s *countingStore) Campaign(string) (*store.Campaign, error) { return nil, jobs.ErrNotFound }

func (s *countingStore) SetCampaignFiles(string, map[string]string) (*store.Campaign, error) {
	return nil, jobs.ErrNotFound
}

// TestCampaignHistoryBatchDelay checks, with a batch delay of an hour,
// that records wait for more to join their batch, and that a flush or a
// full batch ends the wait.
func TestCampaignHistoryBatchDelay(t *testing.T) {
	cs := &countingStore{}
	h := &campaignHistory{store: cs, log: discard, keep: 0, delay: time.Hour}
	var dones []<-chan error
	for k := range 50 {
		done, _ := h.add(&store.Campaign{ID: fmt.Sprintf("wait%02d", k)})
		dones = append(dones, done)
	}
	h.flush()
	for k, done := range dones {
		if err := <-done; err != nil {
			t.Fatalf("record %d: %v", k, err)
		}
	}
	cs.mu.Lock()
	if len(cs.batches) != 1 || cs.batches[0] != 50 {
		t.Errorf("batches %v after a flush, want one of 50", cs.batches)
	}
	cs.mu.Unlock()

	// A full batch is written without a flush.
	var last <-chan error
	for k := range CampaignBatchSize {
		last, _ = h.add(&store.Campaign{ID: fmt.Sprintf("full%04d", k)})
	}
	if err := <-last; err != nil {
		t.Fatal(err)
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if len(cs.batches) != 2 || cs.batches[1] != CampaignBatchSize {
		t.Errorf("batches %v, want a second one of %d", cs.batches, CampaignBatchSize)
	}
}

// TestOptimizeResultEncodeJSON compares the spliced encoding of results,
// solved and reused, with the encoder's output for the whole struct.
func TestOptimizeResultEncodeJSON(t *testing.T) {
	b := setupCampaigns(t)
	for _, budget := range []float64{300, 300.5, 412.25, 1e6, 123456.78} {
		for round := range 2 {
			res, err := b.opt.Optimize(context.Background(), OptimizeRequest{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: budget})
			if err != nil {
				t.Fatal(err)
			}
			if res.Cached != (round == 1) {
				t.Errorf("budget %v round %d: cached %v", budget, round, res.Cached)
			}
			for _, id := range []string{res.CampaignID, ""} {
				res.CampaignID = id
				want, err := json.Marshal(res)
				if err != nil {
					t.Fatal(err)
				}
				got, err := res.EncodeJSON()
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != string(want)+"\n" {
					t.Errorf("budget %v round %d campaign id %q: encoding\n%s\nwant\n%s", budget, round, id, got, want)
				}
			}
		}
	}
	// A result not made by the Optimizer takes the plain path.
	plain := &OptimizeResult{Status: "complete", Budget: 5}
	want, _ := json.Marshal(plain)
	if got, err := plain.EncodeJSON(); err != nil || string(got) != string(want)+"\n" {
		t.Errorf("plain result: %s, %v, want %s", got, err, want)
	}
}
