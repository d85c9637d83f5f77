package pipeline

import (
	"context"
	"testing"

	"github.com/ecomopti/ecomopti/phases/gbt"
	"github.com/ecomopti/ecomopti/phases/prepare"
	"github.com/ecomopti/ecomopti/phases/uplift"
)

// BenchmarkTelcoRun runs phases 1-4 with every evaluation on the real
// Telco file (ECOMOPTI_TELCO_CSV), with the default 10-trial search per
// boosted uplift component and with the search turned off. Each
// iteration writes a fresh run folder. The phase timings of the last
// iteration are reported as ms/phaseN.
func BenchmarkTelcoRun(b *testing.B) {
	in := telcoInput(b)
	noSearch := DefaultConfig()
	search := gbt.DefaultSearchConfig()
	search.Trials = 0
	noSearch.Uplift.Classifier, noSearch.Uplift.Regressor = uplift.BoostedLearners(search)
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"Search10", DefaultConfig()},
		{"NoSearch", noSearch},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var m *Metrics
			for b.Loop() {
				var err error
				m, err = Run(context.Background(), Request{Input: in, RunDir: b.TempDir(), Params: testParams}, bc.cfg, Hooks{}, discard)
				if err != nil {
					b.Fatal(err)
				}
			}
			for _, phase := range []string{"phase1", "phase2", "phase3", "phase4"} {
				b.ReportMetric(float64(m.Timings[phase]), "ms/"+phase)
			}
		})
	}
}

// BenchmarkGBTFitTelcoTrain fits 300 boosted trees of depth 4 (learning
// rate 0.05) to the churn flag of the 4,930 rows of the real training
// split, all 44 features.
func BenchmarkGBTFitTelcoTrain(b *testing.B) {
	in := telcoInput(b)
	prep, err := prepare.Run(context.Background(), in, prepare.DefaultConfig(), discard)
	if err != nil {
		b.Fatal(err)
	}
	p := uplift.UntunedParams(gbt.LossLogistic)
	if n, _ := prep.Train.X.Dims(); n != 4930 {
		b.Fatalf("training split has %d rows, want 4,930", n)
	}
	for b.Loop() {
		if _, err := gbt.Fit(context.Background(), prep.Train.X, prep.Train.Event, p, gbt.FitOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
