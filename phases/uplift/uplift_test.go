package uplift

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ecomopti/ecomopti/phases/dataset"
	"github.com/ecomopti/ecomopti/phases/gbt"
	"github.com/ecomopti/ecomopti/phases/learn"
)

var discard = slog.New(slog.DiscardHandler)

func TestRunSimulatedCampaign(t *testing.T) {
	in := telcoLikeInput(3000, 1500)
	res, err := Run(context.Background(), in, DefaultConfig(), discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Models.DGP == nil {
		t.Fatal("models have no DGP record for a simulated campaign")
	}
	for _, split := range dataset.Splits {
		out := res.Splits[split]
		n := in.Frames[split].Len()
		if out.Scores.Len() != n || len(out.Treatment) != n || len(out.Propensity) != n || len(out.TruePropensity) != n {
			t.Fatalf("split %s: lengths do not match %d rows", split, n)
		}
		if out.Scores.TrueUplift == nil {
			t.Fatalf("split %s: no true uplift", split)
		}
		for i, e := range out.Propensity {
			if e < 0.05 || e > 0.95 {
				t.Fatalf("split %s: propensity %v of row %d outside [0.05, 0.95]", split, e, i)
			}
		}
		for _, m := range dataset.Models {
			if i := firstNonFinite(out.Scores.Uplift[m]); i >= 0 || len(out.Scores.Uplift[m]) != n {
				t.Fatalf("split %s model %s: %d predictions, first non-finite at %d", split, m, len(out.Scores.Uplift[m]), i)
			}
		}
		if got := res.Models.DGP.TreatedShare[split]; got < 0.30 || got > 0.40 {
			t.Errorf("split %s: treated share %.3f, expected near 0.35", split, got)
		}
	}
	if res.Splits[dataset.Train].Evaluation != nil {
		t.Errorf("training split has an evaluation")
	}

	// Ensemble is the configured blend of the two learners.
	test := res.Splits[dataset.Test]
	s, dr, ens := test.Scores.Uplift[dataset.ModelSLearner], test.Scores.Uplift[dataset.ModelDRLearner], test.Scores.Uplift[dataset.ModelEnsemble]
	for i := range ens {
		if !near(ens[i], 0.3*s[i]+0.7*dr[i], 1e-12) {
			t.Fatalf("ensemble row %d = %v, expected 0.3 x %v + 0.7 x %v", i, ens[i], s[i], dr[i])
		}
	}

	for _, split := range []string{dataset.Val, dataset.Test} {
		for _, m := range dataset.Models {
			ev := res.Splits[split].Evaluation[m]
			if ev.AUUC == nil || ev.Spearman == nil || ev.Qini == nil || ev.Revenue == nil {
				t.Fatalf("split %s model %s: missing metric in %+v", split, m, ev)
			}
			// The boosted learners capture the contract and tenure terms of
			// the simulated effect, so they beat random ranking clearly.
			if *ev.AUUC < 0.2 {
				t.Errorf("split %s model %s: AUUC %.3f, expected >= 0.2", split, m, *ev.AUUC)
			}
			if *ev.Spearman < 0.2 {
				t.Errorf("split %s model %s: Spearman %.3f, expected >= 0.2", split, m, *ev.Spearman)
			}
			t.Logf("split %s model %s: auuc %.3f spearman %.3f qini %.5f revenue %.0f (random %.0f, oracle %.0f)",
				split, m, *ev.AUUC, *ev.Spearman, *ev.Qini, ev.Revenue.Value, ev.Revenue.RandomMean, ev.Revenue.Oracle)
		}
	}
}

// learnerSet is one choice of base learners that the phase offers, with
// the AUROC by which each model must rank the helped segment of the
// known-effect data above the unaffected one (0.5 is chance).
type learnerSet struct {
	name                  string
	classifier, regressor learn.SelectFunc
	minAUROC              float64
}

func learnerSets() []learnerSet {
	untuned := gbt.DefaultSearchConfig()
	untuned.Trials = 0
	var sets []learnerSet
	c, r := BoostedLearners(gbt.DefaultSearchConfig())
	sets = append(sets, learnerSet{"BoostedSearch", c, r, 0.95})
	// Without a search, 300 trees of depth 4 on the noisy DR
	// pseudo-outcome also fit the noise column: the ranking is weaker but
	// still clear (0.78 for the DR-learner with these seeds).
	c, r = BoostedLearners(untuned)
	sets = append(sets, learnerSet{"BoostedUntuned", c, r, 0.7})
	c, r = LinearLearners()
	sets = append(sets, learnerSet{"Linear", c, r, 0.95})
	return sets
}

// TestRunKnownEffect checks every learner on real campaign data with a
// known effect: the uplift is +0.2 in segment 1 and 0 in segment 0.
func TestRunKnownEffect(t *testing.T) {
	in := knownEffectInput(4000, 2000)
	for _, set := range learnerSets() {
		t.Run(set.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Classifier, cfg.Regressor = set.classifier, set.regressor
			res, err := Run(context.Background(), in, cfg, discard)
			if err != nil {
				t.Fatal(err)
			}
			for _, split := range []string{dataset.Train, dataset.Test} {
				segment := in.Frames[split].ColOrZero("segment")
				for _, m := range dataset.Models {
					u := res.Splits[split].Scores.Uplift[m]
					var helped, other, nHelped, nOther float64
					for i, s := range segment {
						if s == 1 {
							helped += u[i]
							nHelped++
						} else {
							other += u[i]
							nOther++
						}
					}
					helped /= nHelped
					other /= nOther
					// With 1000 training rows per arm and segment, the
					// estimates have a standard error near 0.02.
					if helped < 0.1 || helped > 0.3 {
						t.Errorf("split %s model %s: mean uplift %.3f in the helped segment, expected 0.2 +- 0.1", split, m, helped)
					}
					if other < -0.1 || other > 0.1 {
						t.Errorf("split %s model %s: mean uplift %.3f in the unaffected segment, expected 0 +- 0.1", split, m, other)
					}
					if auc := auroc(u, segment); auc < set.minAUROC {
						t.Errorf("split %s model %s: the helped segment ranks above the other with AUROC %.3f, expected >= %v",
							split, m, auc, set.minAUROC)
					}
				}
			}
		})
	}
}

func TestRunRealTreatment(t *testing.T) {
	in := knownEffectInput(2000, 1000)
	res, err := Run(context.Background(), in, DefaultConfig(), discard)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Models.RealTreatment || res.Models.DGP != nil {
		t.Errorf("real campaign data recorded as real=%v with DGP %v", res.Models.RealTreatment, res.Models.DGP)
	}
	// The default learners are boosted trees, each chosen by its search.
	for _, name := range Components {
		c, ok := res.Models.Components[name]
		if !ok || c.Learner != "gbt" || len(c.Params) == 0 || len(c.Search) == 0 {
			t.Errorf("component %s recorded as %+v (present %v), want gbt with params and a search", name, c, ok)
		}
	}
	for _, split := range dataset.Splits {
		out := res.Splits[split]
		f := in.Frames[split]
		if out.Scores.TrueUplift != nil || out.TruePropensity != nil {
			t.Errorf("split %s: ground truth present for real campaign data", split)
		}
		if !reflect.DeepEqual(out.Treatment, f.Treatment) || !reflect.DeepEqual(out.Retained, f.Retained) {
			t.Errorf("split %s: treatment or retained differ from the input columns", split)
		}
		// P0 still comes from S(6|x) = 0.8.
		if got := out.Scores.P0[0]; !near(got, 0.2, 1e-12) {
			t.Errorf("split %s: p0 %v, expected 0.2", split, got)
		}
	}
	for _, split := range []string{dataset.Val, dataset.Test} {
		for _, m := range dataset.Models {
			ev := res.Splits[split].Evaluation[m]
			if ev.Qini == nil {
				t.Errorf("split %s model %s: no Qini coefficient", split, m)
			} else if *ev.Qini <= 0 {
				t.Errorf("split %s model %s: Qini %v, expected > 0 for a real positive effect", split, m, *ev.Qini)
			}
			if ev.AUUC != nil || ev.Spearman != nil || ev.Revenue != nil {
				t.Errorf("split %s model %s: ground-truth metric present in %+v", split, m, ev)
			}
		}
	}
}

func TestRunInvalidInput(t *testing.T) {
	tests := []struct {
		name   string
		modify func(in *Input, cfg *Config)
		want   error
	}{
		{"MissingSplit", func(in *Input, _ *Config) { delete(in.Frames, dataset.Val) }, ErrInvalidInput},
		{"ShortS6", func(in *Input, _ *Config) { in.S6[dataset.Test] = in.S6[dataset.Test][:10] }, ErrInvalidInput},
		{"NaNCLV", func(in *Input, _ *Config) { in.CLV[dataset.Train][3] = nan() }, ErrInvalidInput},
		{"BadTreatment", func(in *Input, _ *Config) { in.Frames[dataset.Train].Treatment[0] = 2 }, ErrInvalidInput},
		{"OneArm", func(in *Input, _ *Config) {
			for _, split := range dataset.Splits {
				for i := range in.Frames[split].Treatment {
					in.Frames[split].Treatment[i] = 1
				}
			}
		}, ErrSingleArm},
		{"NoClassifier", func(_ *Input, cfg *Config) { cfg.Classifier = nil }, ErrInvalidConfig},
		{"BadClip", func(_ *Input, cfg *Config) { cfg.ClipLow = 0 }, ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := knownEffectInput(200, 100)
			cfg := DefaultConfig()
			tt.modify(&in, &cfg)
			_, err := Run(context.Background(), in, cfg, discard)
			if !errors.Is(err, tt.want) {
				t.Errorf("error %v, expected %v", err, tt.want)
			}
		})
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, telcoLikeInput(300, 100), DefaultConfig(), discard)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, expected context.Canceled", err)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   Input
	}{
		{"Simulated", telcoLikeInput(1500, 600)},
		{"RealTreatment", knownEffectInput(1500, 600)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Run(context.Background(), tt.in, DefaultConfig(), discard)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := res.Save(dir); err != nil {
				t.Fatal(err)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 8 {
				t.Errorf("%d files in the artifact dir, expected 8", len(entries))
			}
			for _, e := range entries {
				if strings.Contains(e.Name(), ".tmp") {
					t.Errorf("temporary file %s left behind", e.Name())
				}
			}

			got, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Models, res.Models) {
				t.Errorf("models differ after the round trip:\n got %+v\nwant %+v", got.Models, res.Models)
			}
			for _, split := range dataset.Splits {
				if !reflect.DeepEqual(got.Splits[split], res.Splits[split]) {
					t.Errorf("split %s differs after the round trip", split)
				}
			}

			// Phase 4 reads the scores table with the shared reader.
			f, err := os.Open(filepath.Join(dir, ScoresFile(dataset.Test)))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			scores, err := dataset.ReadScores(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(scores.Uplift) != len(dataset.Models) {
				t.Errorf("scores table has %d models, expected %d", len(scores.Uplift), len(dataset.Models))
			}
		})
	}
}

func TestLoadRejectsMismatchedIDs(t *testing.T) {
	res, err := Run(context.Background(), knownEffectInput(600, 300), DefaultConfig(), discard)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := res.Save(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, TreatmentFile(dataset.Val))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), "K00000", "X99999", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "X99999") {
		t.Errorf("error %v, expected one naming customer X99999", err)
	}
}
