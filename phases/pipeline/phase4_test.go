package pipeline

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ecomopti/ecomopti/jobs"
	"github.com/ecomopti/ecomopti/phases/dataset"
	"github.com/ecomopti/ecomopti/phases/optimize"
	"github.com/ecomopti/ecomopti/phases/plots"
)

// phase4Files lists every file Phase 4 writes for a request with both
// analysis flags set, by suffix after the stem, plus the Phase 2 charts.
func phase4Files(stem string) []string {
	names := []string{
		stem + optimize.SuffixCRMExport,
		stem + optimize.SuffixReport,
		stem + optimize.SuffixSummary,
		stem + optimize.SuffixSegmentDeepDive,
		stem + optimize.SuffixSweep,
		stem + optimize.SuffixScenarios,
		stem + optimize.SuffixComparison,
		stem + SuffixPlots,
	}
	for _, name := range []string{plots.NameCumulative, plots.NameWaterfall, plots.NameSweep,
		plots.NameScatter, plots.NameSpend, plots.NameCalibration} {
		names = append(names, stem+"_"+name+".png")
	}
	for _, name := range []string{plots.NameKaplanMeier, plots.NameHazardRatios} {
		names = append(names, SurvivalPlotPrefix+name+".png")
	}
	slices.Sort(names)
	return names
}

// TestPhase4Outputs runs the pipeline once on the sample with run_sweep
// and run_scenarios set, then checks its Phase 4 files and runs Phase 4
// again on the same run without the flags and with a cancellation.
func TestPhase4Outputs(t *testing.T) {
	runDir := t.TempDir()
	params := jobs.Params{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: 2500, RunSweep: true, RunScenarios: true}
	var checkpointed []string
	hooks := Hooks{Checkpoint: func(phase int, files []string) error {
		if phase == PhaseOptimize {
			checkpointed = slices.Clone(files)
		}
		return nil
	}}
	_, err := Run(context.Background(), Request{Input: sampleInput(t), RunDir: runDir, Params: params}, DefaultConfig(), hooks, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("EveryFile", func(t *testing.T) { checkPhase4Files(t, runDir, params, checkpointed) })
	// The run without flags also counts the context checks of Phase 4, so
	// the cancellation can hit the last one.
	counter := &errAfter{Context: context.Background(), limit: -1}
	t.Run("WithoutFlags", func(t *testing.T) { checkPhase4WithoutFlags(t, counter, runDir) })
	t.Run("CanceledLeavesNoFiles", func(t *testing.T) { checkPhase4Canceled(t, runDir, counter.calls) })
}

// checkPhase4Files checks every Phase 4 file of a run with both analysis
// flags: present, checkpointed, no temporary file left, CSVs with the
// expected rows, and PNGs that decode at a plausible size.
func checkPhase4Files(t *testing.T, runDir string, params jobs.Params, checkpointed []string) {
	dir := PhaseDir(runDir, PhaseOptimize)
	stem := Stem(optimize.Request{Split: params.Split, Model: params.Model, Budget: params.Budget})
	want := phase4Files(stem)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, want) {
		t.Errorf("phase 4 folder holds\n%v\nwant\n%v", got, want)
	}
	slices.Sort(checkpointed)
	if !slices.Equal(checkpointed, want) {
		t.Errorf("checkpoint lists\n%v\nwant\n%v", checkpointed, want)
	}

	for _, tt := range []struct {
		suffix string
		rows   int
	}{
		{optimize.SuffixSweep, 24},
		{optimize.SuffixScenarios, len(optimize.Scenarios)},
		{optimize.SuffixComparison, 25},
	} {
		recs := readCSVFile(t, filepath.Join(dir, stem+tt.suffix))
		if len(recs)-1 != tt.rows {
			t.Errorf("%s: %d rows, want %d", tt.suffix, len(recs)-1, tt.rows)
		}
		for _, rec := range recs {
			for _, v := range rec {
				if strings.EqualFold(v, "NaN") || strings.Contains(v, "Inf") {
					t.Errorf("%s contains %q", tt.suffix, v)
				}
			}
		}
	}

	for _, name := range want {
		if filepath.Ext(name) != ".png" {
			continue
		}
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if cfg.Width < 1000 || cfg.Height < 400 {
			t.Errorf("%s: %d × %d pixels, want at least 1000 × 400", name, cfg.Width, cfg.Height)
		}
		if fi.Size() < 10_000 || fi.Size() > 3_000_000 {
			t.Errorf("%s: %d bytes, want 10 kB to 3 MB", name, fi.Size())
		}
	}

	manifest := readManifest(t, filepath.Join(dir, stem+SuffixPlots))
	if len(manifest) != 8 {
		t.Fatalf("%d manifest entries, want 8", len(manifest))
	}
	for _, e := range manifest {
		if e.Skipped != "" || !slices.Contains(want, e.File) {
			t.Errorf("entry %+v: want a drawn chart with a file of the folder", e)
		}
	}
}

// checkPhase4WithoutFlags runs Phase 4 of the default request: no sweep
// or scenario file, a one-row solver comparison, and a manifest that
// gives the reason the sweep chart is missing.
func checkPhase4WithoutFlags(t *testing.T, ctx context.Context, runDir string) {
	dir := t.TempDir()
	if _, _, err := phase4(ctx, runDir, dir, testParams, DefaultConfig(), nil, discard); err != nil {
		t.Fatal(err)
	}
	stem := Stem(optimize.Request{Split: testParams.Split, Model: testParams.Model, Budget: testParams.Budget})
	for _, suffix := range []string{optimize.SuffixSweep, optimize.SuffixScenarios, "_" + plots.NameSweep + ".png"} {
		if _, err := os.Stat(filepath.Join(dir, stem+suffix)); !os.IsNotExist(err) {
			t.Errorf("%s exists without its flag (%v)", stem+suffix, err)
		}
	}
	if recs := readCSVFile(t, filepath.Join(dir, stem+optimize.SuffixComparison)); len(recs) != 2 {
		t.Errorf("comparison has %d rows, want the request budget only", len(recs)-1)
	}
	manifest := readManifest(t, filepath.Join(dir, stem+SuffixPlots))
	i := slices.IndexFunc(manifest, func(e PlotEntry) bool { return e.Name == plots.NameSweep })
	if i < 0 || manifest[i].File != "" || !strings.Contains(manifest[i].Skipped, "run_sweep") {
		t.Errorf("manifest %+v: want the sweep chart skipped with a reason naming run_sweep", manifest)
	}
}

// errAfter is a context whose Err starts returning context.Canceled
// after a set number of calls, so a test can stop work at an exact check.
type errAfter struct {
	context.Context
	calls, limit int
}

func (c *errAfter) Err() error {
	c.calls++
	if c.limit >= 0 && c.calls > c.limit {
		return context.Canceled
	}
	return nil
}

// checkPhase4Canceled stops Phase 4 of the default request at the last of
// its checks (checks counts them), after every file is staged and before
// the renames, and checks that its folder stays empty.
func checkPhase4Canceled(t *testing.T, runDir string, checks int) {
	if checks < 2 {
		t.Fatalf("phase 4 checked its context %d times, want several", checks)
	}
	dir := t.TempDir()
	ctx := &errAfter{Context: context.Background(), limit: checks - 1}
	if _, _, err := phase4(ctx, runDir, dir, testParams, DefaultConfig(), nil, discard); err != context.Canceled {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a canceled phase 4 left %d entries, such as %s", len(entries), entries[0].Name())
	}
}

func readManifest(t *testing.T, path string) []PlotEntry {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var manifest []PlotEntry
	if err := json.Unmarshal(raw, &manifest); err != nil {
		t.Fatal(err)
	}
	return manifest
}

func readCSVFile(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
