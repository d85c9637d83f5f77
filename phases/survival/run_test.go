package survival

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// runSynthetic runs Phase 2 on three simulated Telco-like splits.
func runSynthetic(t *testing.T) (*Result, map[string]*dataset.Frame) {
	t.Helper()
	frames := map[string]*dataset.Frame{
		dataset.Train: simulateTelco(t, 2000, 1),
		dataset.Val:   simulateTelco(t, 500, 2),
		dataset.Test:  simulateTelco(t, 500, 3),
	}
	res, err := Run(context.Background(), frames[dataset.Train], frames[dataset.Val], frames[dataset.Test],
		DefaultConfig(), discardLogger())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res, frames
}

func TestRunSynthetic(t *testing.T) {
	res, frames := runSynthetic(t)

	t.Run("Summary", func(t *testing.T) {
		// Every one-hot column belongs to a complete group and so is
		// collinear. Aliased are the columns that the ones before them
		// determine: the last level of each group, and the "No internet
		// service" copy of InternetService_No.
		wantAliased := map[string]bool{
			dataset.ColMonthlyCharges: false, dataset.ColSeniorCitizen: false,
			"Contract_Month-to-month": false, "Contract_One year": false, "Contract_Two year": true,
			"InternetService_DSL": false, "InternetService_Fiber optic": false, "InternetService_No": true,
			"OnlineSecurity_No": false, "OnlineSecurity_No internet service": true, "OnlineSecurity_Yes": true,
			"gender_Female": false, "gender_Male": true,
		}
		if len(res.Summary) != len(wantAliased) {
			t.Fatalf("summary has %d rows, want %d (all features but tenure)", len(res.Summary), len(wantAliased))
		}
		for _, row := range res.Summary {
			want, known := wantAliased[row.Feature]
			if !known {
				t.Errorf("unexpected summary feature %q", row.Feature)
			}
			if row.Aliased != want {
				t.Errorf("%s aliased = %v, want %v", row.Feature, row.Aliased, want)
			}
			oneHot := strings.Contains(row.Feature, "_")
			if row.Collinear != oneHot {
				t.Errorf("%s collinear = %v, want %v", row.Feature, row.Collinear, oneHot)
			}
		}
		// The simulated hazard rises with month-to-month contracts.
		for _, row := range res.Summary {
			if row.Feature == "Contract_Month-to-month" && !(row.HazardRatio > 1.5) {
				t.Errorf("month-to-month hazard ratio %v, want > 1.5", row.HazardRatio)
			}
		}
	})

	t.Run("CoxMetrics", func(t *testing.T) {
		m := res.Metrics.Cox
		for _, split := range dataset.Splits {
			if c, ok := m.CIndex[split]; !ok || c < 0.65 || c > 0.9 {
				t.Errorf("%s C-index = %v (present %v), want 0.65-0.9", split, c, ok)
			}
		}
		for _, split := range []string{dataset.Val, dataset.Test} {
			ci, ok := m.CIndexCI[split]
			if !ok || !(ci[0] < m.CIndex[split] && m.CIndex[split] < ci[1]) {
				t.Errorf("%s interval %v (present %v) does not contain %v", split, ci, ok, m.CIndex[split])
			}
			if bs, ok := m.Brier[split]; !ok || !(bs > 0 && bs < 0.25) {
				t.Errorf("%s Brier at 6 months = %v (present %v), want in (0, 0.25)", split, bs, ok)
			}
			if ibs, ok := m.IBS[split]; !ok || !(ibs > 0 && ibs < 0.25) {
				t.Errorf("%s IBS = %v (present %v), want in (0, 0.25)", split, ibs, ok)
			}
			if grid := m.IBSGrid[split]; len(grid.Times) != 15 {
				t.Errorf("%s IBS grid has %d times, want 15", split, len(grid.Times))
			}
		}
		if len(m.Calibration) != 10 {
			t.Errorf("calibration has %d bins, want 10", len(m.Calibration))
		}
		if len(res.RiskCurves) != 10 {
			t.Errorf("%d risk decile curves, want 10", len(res.RiskCurves))
		}
		if len(m.Undefined) != 0 {
			t.Errorf("undefined metrics: %v", m.Undefined)
		}
	})

	t.Run("Predictions", func(t *testing.T) {
		for _, split := range dataset.Splits {
			f, p := frames[split], res.Predictions[split]
			if p.Len() != f.Len() || len(p.S6) != f.Len() || len(p.CLVPred) != f.Len() {
				t.Fatalf("%s: %d predictions for %d rows", split, p.Len(), f.Len())
			}
			charges, _ := f.Col(dataset.ColMonthlyCharges)
			for i := range p.IDs {
				if p.S6[i] < 0.01 || p.S6[i] > 0.99 {
					t.Fatalf("%s row %d: S6 = %v outside [0.01, 0.99]", split, i, p.S6[i])
				}
				if want := p.S6[i] * charges[i] * 6; !near(p.CLVActual[i], want, 1e-9) {
					t.Fatalf("%s row %d: CLV = %v, want S6 x charges x 6 = %v", split, i, p.CLVActual[i], want)
				}
			}
		}
	})

	t.Run("CLVMetrics", func(t *testing.T) {
		m := res.Metrics.CLV
		for _, name := range m.Features {
			if name == dataset.ColTenure || name == dataset.ColMonthlyCharges {
				t.Errorf("CLV features include %s", name)
			}
		}
		if len(m.Features) != 12 {
			t.Errorf("CLV uses %d features, want 12", len(m.Features))
		}
		// Internet service fixes most of the monthly charge, so a linear
		// model explains most of CLV6.
		if r2 := m.R2[dataset.Test]; !(r2 > 0.8 && r2 <= 1) {
			t.Errorf("test R^2 = %v, want above 0.8", r2)
		}
		if mae := m.MAE[dataset.Test]; !(mae > 0 && mae < 40) {
			t.Errorf("test MAE = %v dollars, want in (0, 40)", mae)
		}
		if mape, ok := m.MAPE[dataset.Test]; !ok || !(mape > 0 && mape < 30) {
			t.Errorf("test MAPE = %v%% (present %v), want in (0, 30)", mape, ok)
		}
	})

	t.Run("Segments", func(t *testing.T) {
		seg := res.Metrics.Segments
		if seg == nil || len(seg.Segments) != 4 {
			t.Fatalf("segments = %+v, want 4", seg)
		}
		total := 0
		for _, s := range seg.Segments {
			total += s.Count
		}
		if total != frames[dataset.Test].Len() {
			t.Errorf("segments hold %d customers, want %d", total, frames[dataset.Test].Len())
		}
		if hh := seg.Segments[0]; hh.Name != "high_risk_high_clv" || hh.MeanCLVPred == nil ||
			!(*hh.MeanCLVPred > seg.CLVMedian) {
			t.Errorf("first segment %+v, want high_risk_high_clv with mean CLV above %v", hh, seg.CLVMedian)
		}
	})

	t.Run("MetricsJSON", func(t *testing.T) {
		// encoding/json rejects NaN and infinity, so success means none.
		if _, err := json.Marshal(res.Metrics); err != nil {
			t.Fatalf("marshal metrics: %v", err)
		}
	})
}

func TestRunRejectsLeakage(t *testing.T) {
	frames := make([]*dataset.Frame, 3)
	for k := range frames {
		f := simulateTelco(t, 300, uint64(10+k))
		charges, _ := f.Col(dataset.ColMonthlyCharges)
		total := make([]float64, f.Len())
		for i := range total {
			total[i] = charges[i] * f.Tenure[i]
		}
		cols := make([][]float64, 0, len(f.Names)+1)
		for j := range f.Names {
			cols = append(cols, mat.Col(nil, j, f.X))
		}
		names := append(append([]string(nil), f.Names...), dataset.ColTotalCharges)
		frames[k] = newFrame(t, f.Tenure, f.Event, names, append(cols, total)...)
	}
	_, err := Run(context.Background(), frames[0], frames[1], frames[2], DefaultConfig(), discardLogger())
	if !errors.Is(err, ErrLeakage) || !strings.Contains(err.Error(), dataset.ColTotalCharges) {
		t.Fatalf("Run with TotalCharges: err = %v, want ErrLeakage naming it", err)
	}
}

func TestRunInvalidInputs(t *testing.T) {
	f := simulateTelco(t, 200, 5)
	cfg := DefaultConfig()
	cfg.Lambda = -1
	if _, err := Run(context.Background(), f, f, f, cfg, discardLogger()); !errors.Is(err, ErrConfig) {
		t.Errorf("negative lambda: err = %v, want ErrConfig", err)
	}
	if _, err := Run(context.Background(), f, nil, f, DefaultConfig(), discardLogger()); err == nil ||
		!strings.Contains(err.Error(), "val") {
		t.Errorf("nil val frame: err = %v, want an error naming val", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, f, f, f, DefaultConfig(), discardLogger()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v, want context.Canceled", err)
	}
}

func TestAuditLeakage(t *testing.T) {
	cases := []struct {
		name  string
		names []string
		leaks []string
	}{
		{"Clean", []string{"SeniorCitizen", "Contract_Two year"}, nil},
		{"Tenure", []string{"SeniorCitizen", "tenure"}, []string{"tenure"}},
		{"MonthlyCharges", []string{"MonthlyCharges"}, []string{"MonthlyCharges"}},
		{"TotalCharges", []string{"TotalCharges"}, []string{"TotalCharges"}},
		{"PrefixAndCase", []string{"tenure_bucket", "monthlycharges_log", "Contract_One year"},
			[]string{"tenure_bucket", "monthlycharges_log"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := AuditLeakage(c.names)
			if len(c.leaks) == 0 {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrLeakage) {
				t.Fatalf("err = %v, want ErrLeakage", err)
			}
			for _, leak := range c.leaks {
				if !strings.Contains(err.Error(), `"`+leak+`"`) {
					t.Errorf("error %q does not name %q", err, leak)
				}
			}
		})
	}
}

func TestRegressionErrors(t *testing.T) {
	// Errors 1, -1, 0, 2 on actual 2, 4, 0, 10 (mean 4, SS_tot 56):
	// MAE 1, SS_res 6, R^2 = 1 - 6/56, MAPE over the three positive
	// actuals = (1/2 + 1/4 + 2/10) / 3 x 100.
	e := regressionErrors([]float64{2, 4, 0, 10}, []float64{1, 5, 0, 8})
	if !near(e.mae, 1, 1e-12) {
		t.Errorf("MAE = %v, want 1", e.mae)
	}
	if e.r2 == nil || !near(*e.r2, 1-6.0/56, 1e-12) {
		t.Errorf("R^2 = %v, want %v", e.r2, 1-6.0/56)
	}
	if e.mape == nil || !near(*e.mape, 0.95/3*100, 1e-9) {
		t.Errorf("MAPE = %v, want %v", e.mape, 0.95/3*100)
	}
	flat := regressionErrors([]float64{0, 0}, []float64{1, 1})
	if flat.r2 != nil || flat.mape != nil {
		t.Errorf("constant zero actuals: R^2 = %v, MAPE = %v, want both undefined", flat.r2, flat.mape)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	res, _ := runSynthetic(t)
	dir := t.TempDir()
	if err := res.Save(dir); err != nil {
		t.Fatalf("Save: %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read dir: %v", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{FileCoxModel, FileCoxSummary, FileSummaryCSV, FileRiskCurves, FileMetrics,
		"predictions_test.csv", "predictions_train.csv", "predictions_val.csv"}
	if len(names) != len(want) {
		t.Fatalf("dir holds %v, want the %d artifacts %v and no temporary files", names, len(want), want)
	}

	got, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !reflect.DeepEqual(got.Cox, res.Cox) {
		t.Errorf("loaded model differs:\n got %+v\nwant %+v", got.Cox, res.Cox)
	}
	if !reflect.DeepEqual(got.Summary, res.Summary) {
		t.Errorf("loaded summary differs")
	}
	if !reflect.DeepEqual(got.Metrics, res.Metrics) {
		t.Errorf("loaded metrics differ:\n got %+v\nwant %+v", got.Metrics, res.Metrics)
	}
	if !reflect.DeepEqual(got.RiskCurves, res.RiskCurves) {
		t.Errorf("loaded risk curves differ")
	}
	for _, split := range dataset.Splits {
		if !reflect.DeepEqual(got.Predictions[split], res.Predictions[split]) {
			t.Errorf("loaded %s predictions differ", split)
		}
	}

	// The loaded model scores like the original.
	f := simulateTelco(t, 50, 99)
	a, errA := res.Cox.Survival(f, 6)
	b, errB := got.Cox.Survival(f, 6)
	if errA != nil || errB != nil || !reflect.DeepEqual(a, b) {
		t.Errorf("loaded model survival differs (errors %v, %v)", errA, errB)
	}

	summaryCSV, err := os.ReadFile(filepath.Join(dir, FileSummaryCSV))
	if err != nil || !strings.HasPrefix(string(summaryCSV), "feature,coef,coef_original,hazard_ratio,se,") {
		t.Errorf("summary CSV header wrong (err %v): %.80s", err, summaryCSV)
	}
}

func TestLoadErrors(t *testing.T) {
	res, _ := runSynthetic(t)
	dir := t.TempDir()
	if err := res.Save(dir); err != nil {
		t.Fatalf("Save: %v", err)
	}
	path := filepath.Join(dir, PredictionsFile(dataset.Val))
	bad := "customerID,s6,risk,clv_actual,clv_pred\nc1,0.5,0.1,10,11\nc2,NaN,0.1,10,11\n"
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("NaN in predictions: err = %v, want an error naming line 3", err)
	}
	if err := os.Remove(filepath.Join(dir, FileCoxModel)); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing model: err = %v, want os.ErrNotExist", err)
	}
}

func TestSurvivalAtExtremes(t *testing.T) {
	if got := survivalAt(0, 1e6); got != 1 {
		t.Errorf("S with H0 = 0 and huge risk = %v, want 1", got)
	}
	if got := survivalAt(0.5, 1e6); got != 0 || math.IsNaN(got) {
		t.Errorf("S with huge risk = %v, want 0", got)
	}
}
