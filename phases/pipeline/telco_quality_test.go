package pipeline

import (
	"context"
	"os"
	"testing"

	"github.com/ecomopti/ecomopti/phases/dataset"
	"github.com/ecomopti/ecomopti/phases/gbt"
	"github.com/ecomopti/ecomopti/phases/prepare"
	"github.com/ecomopti/ecomopti/phases/uplift"
)

// telcoInput reads the real Telco file named by ECOMOPTI_TELCO_CSV, and
// skips the test or benchmark when the variable is unset.
func telcoInput(tb testing.TB) prepare.Input {
	tb.Helper()
	path := os.Getenv("ECOMOPTI_TELCO_CSV")
	if path == "" {
		tb.Skip("ECOMOPTI_TELCO_CSV is not set; set it to the IBM Telco churn CSV to run this test")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return prepare.Input{Path: path, Data: data}
}

// TestTelcoQualityBars runs the default pipeline, with its 10-trial search
// per boosted uplift component, on the real file and checks each quality
// bar on the test split. The reference stack (lifelines, ranger,
// XGBoost 1.7 with a 10-trial search) reaches Cox 0.858, forest 0.845, CLV
// R^2 0.998 and, as medians over five seeds, AUUC 0.80 (S-learner), 0.62
// (DR-learner) and 0.69 (ensemble).
func TestTelcoQualityBars(t *testing.T) {
	in := telcoInput(t)
	runDir := t.TempDir()
	m, err := Run(context.Background(), Request{Input: in, RunDir: runDir, Params: testParams}, DefaultConfig(), Hooks{}, discard)
	if err != nil {
		t.Fatal(err)
	}
	test := dataset.Test
	if m.RSF == nil {
		t.Fatal("metrics have no random survival forest")
	}
	bars := []struct {
		name   string
		got    map[string]float64
		bar    float64
		atMost bool // the bar is an upper bound, not a lower one
	}{
		{"cox c_index", m.Cox.CIndex, 0.85, false},
		{"rsf c_index", m.RSF.CIndex, 0.83, false},
		{"clv r2", m.CLV.R2, 0.99, false},
		{"clv mape (percent)", m.CLV.MAPE, 3, true},
		{"s_learner auuc", m.Uplift[dataset.ModelSLearner].AUUC, 0.65, false},
		{"dr_learner auuc", m.Uplift[dataset.ModelDRLearner].AUUC, 0.40, false},
		{"ensemble auuc", m.Uplift[dataset.ModelEnsemble].AUUC, 0.50, false},
		{"s_learner spearman", m.Uplift[dataset.ModelSLearner].Spearman, 0.60, false},
		{"dr_learner spearman", m.Uplift[dataset.ModelDRLearner].Spearman, 0.40, false},
	}
	for _, b := range bars {
		v, ok := b.got[test]
		switch {
		case !ok:
			t.Errorf("%s: no value for the test split", b.name)
		case b.atMost && v > b.bar:
			t.Errorf("%s = %.4f on test, want <= %v", b.name, v, b.bar)
		case !b.atMost && v < b.bar:
			t.Errorf("%s = %.4f on test, want >= %v", b.name, v, b.bar)
		}
	}

	// Every figure of the metrics contract, for the log.
	ci := m.Cox.CIndexCI[test]
	t.Logf("cox: c_index val %.4f test %.4f (95%% CI %.4f-%.4f), brier_6m test %.4f, ibs test %.4f",
		m.Cox.CIndex[dataset.Val], m.Cox.CIndex[test], ci[0], ci[1], m.Cox.Brier[test], m.Cox.IBS[test])
	t.Logf("rsf: c_index val %.4f test %.4f, ibs val %.4f test %.4f",
		m.RSF.CIndex[dataset.Val], m.RSF.CIndex[test], m.RSF.IBS[dataset.Val], m.RSF.IBS[test])
	t.Logf("clv: r2 %.4f, mae $%.2f, mape %.2f%% on test", m.CLV.R2[test], m.CLV.MAE[test], m.CLV.MAPE[test])
	for _, model := range dataset.Models {
		u := m.Uplift[model]
		t.Logf("%s: auuc %.4f, spearman %.4f, qini %.5f on test", model, u.AUUC[test], u.Spearman[test], u.Qini[test])
	}
	t.Logf("timings_ms: %v", m.Timings)
}

// contractKeys lists the nested keys that metrics.json must have, as
// paths from the top level, each ending at a number or an array.
var contractKeys = [][]string{
	{"cox", "c_index", "val"}, {"cox", "c_index", "test"},
	{"cox", "c_index_ci", "test"},
	{"cox", "brier_6m", "val"}, {"cox", "brier_6m", "test"},
	{"cox", "ibs", "val"}, {"cox", "ibs", "test"},
	{"rsf", "c_index", "val"}, {"rsf", "c_index", "test"},
	{"rsf", "ibs", "val"}, {"rsf", "ibs", "test"},
	{"clv", "r2", "test"}, {"clv", "mae", "test"}, {"clv", "mape", "test"},
	{"timings_ms", "phase1"}, {"timings_ms", "phase2"}, {"timings_ms", "phase3"}, {"timings_ms", "phase4"},
}

// TestMetricsContract checks that metrics.json carries every key of the
// metrics contract, on the synthetic sample with the search turned off
// and a small forest to keep the test fast.
func TestMetricsContract(t *testing.T) {
	cfg := DefaultConfig()
	search := gbt.DefaultSearchConfig()
	search.Trials = 0
	cfg.Uplift.Classifier, cfg.Uplift.Regressor = uplift.BoostedLearners(search)
	cfg.Survival.RSF.Trees = 20
	runDir := t.TempDir()
	if _, err := Run(context.Background(), Request{Input: sampleInput(t), RunDir: runDir, Params: testParams}, cfg, Hooks{}, discard); err != nil {
		t.Fatal(err)
	}
	got, err := ReadMetrics(runDir)
	if err != nil {
		t.Fatal(err)
	}

	// Walk each path down the decoded JSON.
	keys := contractKeys
	for _, model := range dataset.Models {
		for _, metric := range []string{"auuc", "spearman", "qini"} {
			keys = append(keys, []string{"uplift", model, metric, "test"})
		}
	}
	for _, path := range keys {
		var node any = got
		for _, k := range path {
			obj, ok := node.(map[string]any)
			if !ok {
				node = nil
				break
			}
			node = obj[k]
		}
		switch v := node.(type) {
		case float64:
		case []any:
			if len(v) != 2 {
				t.Errorf("metrics.json %v has %d values, want an interval of 2", path, len(v))
			}
		default:
			t.Errorf("metrics.json %v = %v, want a number or an interval", path, node)
		}
	}
}
