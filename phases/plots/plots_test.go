package plots

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotter"

	"github.com/ecomopti/ecomopti/phases/dataset"
	"github.com/ecomopti/ecomopti/phases/optimize"
	"github.com/ecomopti/ecomopti/phases/survival"
)

// syntheticScores draws n customers with a known true uplift, so every
// campaign chart can be drawn. Model uplift is the truth plus noise.
func syntheticScores(seed uint64, n int) *dataset.Scores {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	s := &dataset.Scores{Uplift: map[string][]float64{}}
	for i := range n {
		s.IDs = append(s.IDs, fmt.Sprintf("%05d-SYNTH", i))
		churned := 0.0
		if rng.Float64() < 0.2 {
			churned = 1
		}
		s.Churned = append(s.Churned, churned)
		s.Tenure = append(s.Tenure, float64(rng.IntN(73)))
		s.P0 = append(s.P0, 0.05+0.5*rng.Float64())
		s.CLV = append(s.CLV, 100+900*rng.Float64())
		truth := -0.05 + 0.25*rng.Float64()
		s.TrueUplift = append(s.TrueUplift, truth)
		s.Uplift[dataset.ModelEnsemble] = append(s.Uplift[dataset.ModelEnsemble], truth+0.03*rng.NormFloat64())
	}
	return s
}

func optimizeScores(t *testing.T, s *dataset.Scores, budget float64) *optimize.Report {
	t.Helper()
	req := optimize.Request{Split: dataset.Test, Model: dataset.ModelEnsemble, Budget: budget}
	r, err := optimize.Optimize(context.Background(), s, req, optimize.DefaultConfig(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// decodePNG renders f and decodes the result, failing the test when the
// bytes are not a PNG image.
func decodePNG(t *testing.T, f Figure) (image.Image, int) {
	t.Helper()
	var buf bytes.Buffer
	if err := f.WritePNG(&buf); err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	size := buf.Len()
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("%s: decode png: %v", f.Name, err)
	}
	return img, size
}

// inkShare returns the share of pixels that are not white.
func inkShare(img image.Image) float64 {
	b := img.Bounds()
	ink := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0xF000 || g < 0xF000 || bl < 0xF000 {
				ink++
			}
		}
	}
	return float64(ink) / float64(b.Dx()*b.Dy())
}

// checkRendered checks that a figure renders to a PNG of the expected
// pixel size, of a plausible file size, with some ink but not a flood.
func checkRendered(t *testing.T, f Figure, wantW, wantH int) {
	t.Helper()
	img, size := decodePNG(t, f)
	if b := img.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
		t.Errorf("%s: %d × %d pixels, want %d × %d", f.Name, b.Dx(), b.Dy(), wantW, wantH)
	}
	if size < 10_000 || size > 3_000_000 {
		t.Errorf("%s: %d bytes, want 10 kB to 3 MB", f.Name, size)
	}
	if ink := inkShare(img); ink < 0.01 || ink > 0.6 {
		t.Errorf("%s: %.3f of the pixels are not white, want 0.01 to 0.6", f.Name, ink)
	}
}

func TestCampaignFiguresRender(t *testing.T) {
	s := syntheticScores(1, 800)
	r := optimizeScores(t, s, 1500)
	sweep, err := r.Sweep(context.Background(), optimize.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	figs, err := Campaign(CampaignInput{Report: r, Sweep: sweep, Scores: s})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{NameCumulative, NameWaterfall, NameSweep, NameScatter, NameSpend, NameCalibration}
	if len(figs) != len(want) {
		t.Fatalf("%d figures, want %d", len(figs), len(want))
	}
	for k, f := range figs {
		if f.Name != want[k] {
			t.Errorf("figure %d is %s, want %s", k, f.Name, want[k])
		}
		if f.Skipped != "" {
			t.Errorf("%s skipped: %s", f.Name, f.Skipped)
			continue
		}
		if f.Title == "" {
			t.Errorf("%s has no title", f.Name)
		}
		checkRendered(t, f, 1200, 750)
	}
}

func TestCampaignFiguresSkipWithoutInputs(t *testing.T) {
	s := syntheticScores(2, 300)
	s.TrueUplift = nil
	r := optimizeScores(t, s, 500)
	figs, err := Campaign(CampaignInput{Report: r, Scores: s})
	if err != nil {
		t.Fatal(err)
	}
	skipped := map[string]string{}
	for _, f := range figs {
		if f.Skipped != "" {
			skipped[f.Name] = f.Skipped
			if f.Plot != nil {
				t.Errorf("%s is skipped but has a plot", f.Name)
			}
			var buf bytes.Buffer
			if err := f.WritePNG(&buf); err == nil || buf.Len() != 0 {
				t.Errorf("%s: rendering a skipped figure gave %v and %d bytes", f.Name, err, buf.Len())
			}
		}
	}
	if len(skipped) != 2 || !strings.Contains(skipped[NameSweep], "run_sweep") || !strings.Contains(skipped[NameCalibration], "true uplift") {
		t.Errorf("skipped %v, want the sweep (naming run_sweep) and calibration (naming the true uplift)", skipped)
	}
	if _, err := Campaign(CampaignInput{Report: &optimize.Report{}}); err == nil {
		t.Errorf("a report without customers was accepted")
	}
}

// TestCalibrationDeciles recomputes the calibration points by hand on a
// table whose predicted uplift equals the row number.
func TestCalibrationDeciles(t *testing.T) {
	s := syntheticScores(3, 200)
	for i := range s.IDs {
		s.Uplift[dataset.ModelEnsemble][i] = float64(i) / 1000
		s.TrueUplift[i] = 0.5 * float64(i) / 1000
	}
	r := optimizeScores(t, s, 500)
	predicted, truth, err := calibrationDeciles(r.Customers(), s)
	if err != nil {
		t.Fatal(err)
	}
	// Decile d holds rows 20d to 20d+19: mean predicted uplift
	// (20d + 9.5) / 1000, or 2d + 0.95 percentage points.
	if len(predicted) != 10 || len(truth) != 10 {
		t.Fatalf("%d and %d points, want 10 each", len(predicted), len(truth))
	}
	for d := range 10 {
		want := 2*float64(d) + 0.95
		if got := predicted[d]; got.X != float64(d+1) || math.Abs(got.Y-want) > 1e-9 {
			t.Errorf("decile %d predicted %v, want (%d, %v)", d+1, got, d+1, want)
		}
		if got := truth[d].Y; math.Abs(got-want/2) > 1e-9 {
			t.Errorf("decile %d truth %v, want %v", d+1, got, want/2)
		}
	}
	// Shuffling the table changes no decile.
	shuffled := slices.Clone(r.Customers())
	rand.New(rand.NewPCG(9, 9)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	again, _, err := calibrationDeciles(shuffled, s)
	if err != nil || !slices.Equal(again, predicted) {
		t.Errorf("shuffled customers give %v (%v), want %v", again, err, predicted)
	}
}

func TestSurvivalFiguresRender(t *testing.T) {
	var curves []survival.RiskGroupCurve
	for d := 1; d <= 10; d++ {
		c := survival.RiskGroupCurve{Decile: d, Count: 100}
		surv := 1.0
		for month := 1; month <= 72; month += 3 {
			surv *= 1 - 0.004*float64(d)
			c.Points = append(c.Points, survival.KMPoint{Time: float64(month), Survival: surv})
		}
		curves = append(curves, c)
	}
	summary := []survival.SummaryRow{
		{Feature: "Contract_Month-to-month", CoefOriginal: 0.8, SEOriginal: 0.1, Collinear: true},
		{Feature: "MonthlyCharges", CoefOriginal: 0.002, SEOriginal: 0.001},
		{Feature: "SeniorCitizen", CoefOriginal: -0.05, SEOriginal: 0.2},
		{Feature: "Unidentified", CoefOriginal: 40, SEOriginal: math.NaN()},
		{Feature: "Contract_Two year", CoefOriginal: -1.2, SEOriginal: 0.3, Collinear: true},
	}
	figs, err := Survival(curves, summary)
	if err != nil {
		t.Fatal(err)
	}
	if len(figs) != 2 || figs[0].Name != NameKaplanMeier || figs[1].Name != NameHazardRatios {
		t.Fatalf("figures %v, want Kaplan-Meier then hazard ratios", figs)
	}
	checkRendered(t, figs[0], 1200, 750)
	// 9 inches wide; 2.2 + 0.2 × 5 rows = 3.2 inches tall.
	checkRendered(t, figs[1], 1350, 480)

	empty, err := Survival(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range empty {
		if f.Skipped == "" {
			t.Errorf("%s drawn from no data", f.Name)
		}
	}
}

func TestNiceTicks(t *testing.T) {
	for _, tt := range []struct {
		lo, hi float64
		labels []string
	}{
		{0, 2900, []string{"$0", "$500", "$1,000", "$1,500", "$2,000", "$2,500"}},
		// No major tick below zero: the half step -$1,000 gets a label.
		{-1000, 5100, []string{"-$1,000", "$0", "$2,000", "$4,000"}},
		{-700, 5100, []string{"-$500", "$0", "$1,000", "$2,000", "$3,000", "$4,000", "$5,000"}},
		// No tick at all below zero: a round value of [-400, 0) is added.
		{-400, 5100, []string{"-$400", "$0", "$1,000", "$2,000", "$3,000", "$4,000", "$5,000"}},
		// Within 4% of the range from zero, a label would overlap $0.
		{-100, 5100, []string{"$0", "$1,000", "$2,000", "$3,000", "$4,000", "$5,000"}},
		{-5000, 1000, []string{"-$5,000", "-$4,000", "-$3,000", "-$2,000", "-$1,000", "$0", "$1,000"}},
		{200, 5000, []string{"$1,000", "$2,000", "$3,000", "$4,000", "$5,000"}},
	} {
		var got []string
		for _, tick := range (dollarTicks{}).Ticks(tt.lo, tt.hi) {
			if tick.Value < tt.lo || tick.Value > tt.hi {
				t.Errorf("[%v, %v]: tick %v is outside the range", tt.lo, tt.hi, tick.Value)
			}
			if tick.Label != "" {
				got = append(got, tick.Label)
			}
		}
		if !slices.Equal(got, tt.labels) {
			t.Errorf("[%v, %v]: labels %v, want %v", tt.lo, tt.hi, got, tt.labels)
		}
	}
	if ticks := (dollarTicks{}).Ticks(5, 5); ticks != nil {
		t.Errorf("an empty range got ticks %v", ticks)
	}
}

func TestFormatDollars(t *testing.T) {
	for _, tt := range []struct {
		in   float64
		want string
	}{
		{0, "$0"}, {12.5, "$12.50"}, {1234.4, "$1,234"}, {-1234567, "-$1,234,567"}, {100, "$100"},
	} {
		if got := formatDollars(tt.in); got != tt.want {
			t.Errorf("formatDollars(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestThinKeepsEnds(t *testing.T) {
	xys := make(plotter.XYs, 3*MaxPoints+7)
	for i := range xys {
		xys[i] = plotter.XY{X: float64(i), Y: float64(i)}
	}
	got := thin(xys)
	if len(got) != MaxPoints {
		t.Fatalf("%d points, want %d", len(got), MaxPoints)
	}
	if got[0] != xys[0] || got[len(got)-1] != xys[len(xys)-1] {
		t.Errorf("ends %v and %v, want %v and %v", got[0], got[len(got)-1], xys[0], xys[len(xys)-1])
	}
	short := xys[:10]
	if got := thin(short); len(got) != 10 {
		t.Errorf("a short series changed length to %d", len(got))
	}
}

func TestLogTicks(t *testing.T) {
	for _, tt := range []struct {
		lo, hi float64
		labels []string
	}{
		// About 1.1 decades, as the Telco hazard ratios span.
		{0.28, 3.5, []string{"0.3", "0.4", "0.5", "0.7", "1", "1.5", "2", "3"}},
		{0.05, 20, []string{"0.05", "0.1", "0.2", "0.5", "1", "2", "5", "10", "20"}},
		{0.001, 50, []string{"0.001", "0.01", "0.1", "1", "10"}},
	} {
		var got []string
		for _, tick := range (logTicks{}).Ticks(tt.lo, tt.hi) {
			if tick.Value < tt.lo || tick.Value > tt.hi {
				t.Errorf("[%v, %v]: tick %v is outside the range", tt.lo, tt.hi, tick.Value)
			}
			if tick.Label != "" {
				got = append(got, tick.Label)
			}
		}
		if !slices.Equal(got, tt.labels) {
			t.Errorf("[%v, %v]: labels %v, want %v", tt.lo, tt.hi, got, tt.labels)
		}
	}
}
