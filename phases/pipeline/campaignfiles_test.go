package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecomopti/ecomopti/phases/dataset"
	"github.com/ecomopti/ecomopti/phases/optimize"
)

// campaignStems lists the stems of the CRM exports in a campaigns folder.
func campaignStems(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var stems []string
	for _, e := range entries {
		if stem, ok := strings.CutSuffix(e.Name(), optimize.SuffixCRMExport); ok {
			stems = append(stems, stem)
		}
	}
	sort.Strings(stems)
	return stems
}

// setFiles lists every file of a stem in a campaigns folder.
func setFiles(t *testing.T, dir, stem string) []string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, stem+"_*"))
	if err != nil {
		t.Fatal(err)
	}
	return matches
}

func TestOptimizeFileSetLimit(t *testing.T) {
	b := setupCampaigns(t)
	b.opt.SetCampaignFileSets(3)
	dir := filepath.Join(b.dataDir, b.run.RunDir, CampaignsDir)
	ctx := context.Background()
	budgets := []float64{500, 600, 700, 800, 900}
	stem := func(budget float64) string {
		return Stem(optimize.Request{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: budget})
	}
	for k, budget := range budgets {
		res, err := b.opt.Optimize(ctx, OptimizeRequest{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: budget})
		if err != nil {
			t.Fatalf("budget %v: %v", budget, err)
		}
		if k > 0 {
			continue
		}
		// The charts of the first set are deleted with it.
		if _, err := b.opt.CampaignPlots(ctx, res.CampaignID); err != nil {
			t.Fatal(err)
		}
		if files := setFiles(t, dir, stem(budget)); len(files) < 10 {
			t.Fatalf("first set has %d files with its charts, want at least 10", len(files))
		}
	}
	want := []string{stem(700), stem(800), stem(900)}
	if got := campaignStems(t, dir); !slices.Equal(got, want) {
		t.Fatalf("sets left %v, want %v", got, want)
	}
	for _, budget := range budgets[:2] {
		if files := setFiles(t, dir, stem(budget)); len(files) != 0 {
			t.Errorf("budget %v: files %v left after its set was deleted", budget, files)
		}
	}
	for _, budget := range budgets[2:] {
		if files := setFiles(t, dir, stem(budget)); len(files) != 4 {
			t.Errorf("budget %v: %d files, want 4", budget, len(files))
		}
	}

	// A repeat of a deleted budget solves again and writes its files,
	// which in turn deletes the oldest remaining set ($700).
	res, err := b.opt.Optimize(ctx, OptimizeRequest{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: 500})
	if err != nil {
		t.Fatal(err)
	}
	if res.Cached {
		t.Error("repeat of a deleted budget was served from the cache")
	}
	for kind, path := range res.Files.byKind() {
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s of the repeated budget: %v", kind, err)
		}
	}
	want = []string{stem(500), stem(800), stem(900)}
	if got := campaignStems(t, dir); !slices.Equal(got, want) {
		t.Errorf("sets after the repeat %v, want %v", got, want)
	}

	// A budget still on disk comes from the cache.
	res, err = b.opt.Optimize(ctx, OptimizeRequest{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: 900})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Cached {
		t.Error("repeat of a kept budget was not served from the cache")
	}
	// The cache holds no result whose set was deleted.
	b.opt.mu.Lock()
	for key, el := range b.opt.results {
		res := el.Value.(*cachedResult).res
		for kind, path := range res.Files.byKind() {
			if _, err := os.Stat(path); err != nil {
				t.Errorf("cached result %+v: %s: %v", key, kind, err)
			}
		}
	}
	b.opt.mu.Unlock()
}

func TestOptimizeFileSetIndexRebuilt(t *testing.T) {
	b := setupCampaigns(t)
	dir := filepath.Join(b.dataDir, b.run.RunDir, CampaignsDir)
	ctx := context.Background()
	stem := func(budget float64) string {
		return Stem(optimize.Request{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: budget})
	}
	// Three sets written an hour apart, oldest first, as a server
	// restarted since would find them.
	base := time.Now().Add(-5 * time.Hour)
	for k, budget := range []float64{900, 500, 700} {
		if _, err := b.opt.Optimize(ctx, OptimizeRequest{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: budget}); err != nil {
			t.Fatal(err)
		}
		at := base.Add(time.Duration(k) * time.Hour)
		for _, path := range setFiles(t, dir, stem(budget)) {
			if err := os.Chtimes(path, at, at); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A stray file and a temporary file that the index must ignore.
	for _, name := range []string{"notes.txt", ".test_ensemble_500c_report.json.123.tmp"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	opt := NewOptimizer(b.store, b.dataDir, optimize.DefaultConfig(), discard)
	opt.SetCampaignFileSets(2)
	if _, err := opt.Optimize(ctx, OptimizeRequest{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: 800}); err != nil {
		t.Fatal(err)
	}
	want := []string{stem(700), stem(800)}
	if got := campaignStems(t, dir); !slices.Equal(got, want) {
		t.Errorf("sets left %v, want %v (the two oldest by write time deleted)", got, want)
	}
	for _, name := range []string{"notes.txt", ".test_ensemble_500c_report.json.123.tmp"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s: %v, want it kept", name, err)
		}
	}
}

func TestCampaignPlotsSingleFlight(t *testing.T) {
	b := setupCampaigns(t)
	ctx := context.Background()
	res, err := b.opt.Optimize(ctx, OptimizeRequest{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: 600})
	if err != nil {
		t.Fatal(err)
	}
	other, err := b.opt.Optimize(ctx, OptimizeRequest{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: 700})
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	drawn := map[string]int{}
	release := make(chan struct{})
	b.opt.drawHook = func(id string) {
		mu.Lock()
		drawn[id]++
		mu.Unlock()
		if id == res.CampaignID {
			<-release
		}
	}

	const callers = 4
	type outcome struct {
		files int
		err   error
	}
	out := make(chan outcome, callers)
	for range callers {
		go func() {
			rec, err := b.opt.CampaignPlots(ctx, res.CampaignID)
			if err != nil {
				out <- outcome{err: err}
				return
			}
			out <- outcome{files: len(rec.Files)}
		}()
	}
	// Wait until one call draws and the others wait for it.
	deadline := time.Now().Add(time.Minute)
	for {
		if time.Now().After(deadline) {
			t.Fatal("the concurrent calls never lined up behind one drawing")
		}
		b.opt.mu.Lock()
		d := b.opt.draws[res.CampaignID]
		waiting := d != nil && d.waiters == callers-1
		b.opt.mu.Unlock()
		mu.Lock()
		started := drawn[res.CampaignID] == 1
		mu.Unlock()
		if waiting && started {
			break
		}
		time.Sleep(time.Millisecond)
	}

	// A drawing of another id waits for the first; here until its ctx ends.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = b.opt.CampaignPlots(short, other.CampaignID)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second id during a drawing: %v, want DeadlineExceeded", err)
	}
	mu.Lock()
	if drawn[other.CampaignID] != 0 {
		t.Errorf("second id drew while the first was drawing")
	}
	mu.Unlock()

	close(release)
	var files []int
	for range callers {
		o := <-out
		if o.err != nil {
			t.Fatalf("shared drawing: %v", o.err)
		}
		files = append(files, o.files)
	}
	for _, n := range files {
		if n != files[0] || n < 10 {
			t.Errorf("callers got %v files, want the same count (at least 10) for each", files)
			break
		}
	}
	mu.Lock()
	if drawn[res.CampaignID] != 1 {
		t.Errorf("%d drawings for %d concurrent calls, want 1", drawn[res.CampaignID], callers)
	}
	mu.Unlock()

	// Once the first is done, the second id draws.
	if _, err := b.opt.CampaignPlots(ctx, other.CampaignID); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if drawn[other.CampaignID] != 1 {
		t.Errorf("second id drawn %d times, want 1", drawn[other.CampaignID])
	}
	mu.Unlock()
}

func TestCampaignPlotsWaiterRedraws(t *testing.T) {
	b := setupCampaigns(t)
	res, err := b.opt.Optimize(context.Background(), OptimizeRequest{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: 600})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	drawn := 0
	release := make(chan struct{})
	b.opt.drawHook = func(string) {
		mu.Lock()
		drawn++
		first := drawn == 1
		mu.Unlock()
		if first {
			<-release
		}
	}

	leaderCtx, cancel := context.WithCancel(context.Background())
	leaderErr := make(chan error, 1)
	go func() {
		_, err := b.opt.CampaignPlots(leaderCtx, res.CampaignID)
		leaderErr <- err
	}()
	// Wait until the first call draws, then queue a second one behind it.
	deadline := time.Now().Add(time.Minute)
	for {
		if time.Now().After(deadline) {
			t.Fatal("the first drawing never started")
		}
		mu.Lock()
		started := drawn == 1
		mu.Unlock()
		if started {
			break
		}
		time.Sleep(time.Millisecond)
	}
	waiterErr := make(chan error, 1)
	go func() {
		_, err := b.opt.CampaignPlots(context.Background(), res.CampaignID)
		waiterErr <- err
	}()
	for {
		if time.Now().After(deadline) {
			t.Fatal("the second call never waited for the first")
		}
		b.opt.mu.Lock()
		d := b.opt.draws[res.CampaignID]
		waiting := d != nil && d.waiters == 1
		b.opt.mu.Unlock()
		if waiting {
			break
		}
		time.Sleep(time.Millisecond)
	}

	// The first caller goes away mid-drawing; the waiter draws for itself.
	cancel()
	close(release)
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Errorf("canceled caller: %v, want context.Canceled", err)
	}
	if err := <-waiterErr; err != nil {
		t.Errorf("waiting caller: %v, want its own drawing to succeed", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if drawn != 2 {
		t.Errorf("%d drawings, want 2 (the canceled one and the waiter's)", drawn)
	}
}
