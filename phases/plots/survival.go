package plots

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/ecomopti/ecomopti/phases/survival"
)

// Names of the Phase 2 figures, in the order Survival returns them.
const (
	NameKaplanMeier  = "km_by_risk_decile"
	NameHazardRatios = "cox_hazard_ratios"
)

// Bounds of the hazard-ratio axis. Ratios and interval ends outside are
// drawn at the bound, so one ill-determined coefficient cannot squeeze
// the others into a sliver.
const (
	minHazardRatio = 1e-3
	maxHazardRatio = 1e3
)

// z975 is the 97.5% quantile of the standard normal distribution, for
// 95% Wald intervals.
const z975 = 1.959963984540054

// Survival builds the Phase 2 charts: Kaplan-Meier curves by decile of
// Cox risk, and the Cox hazard ratios with 95% Wald intervals. Either is
// skipped when its input is empty.
func Survival(curves []survival.RiskGroupCurve, summary []survival.SummaryRow) ([]Figure, error) {
	km, err := kaplanMeierFigure(curves)
	if err != nil {
		return nil, fmt.Errorf("survival plots: %s: %w", NameKaplanMeier, err)
	}
	hr, err := hazardRatioFigure(summary)
	if err != nil {
		return nil, fmt.Errorf("survival plots: %s: %w", NameHazardRatios, err)
	}
	return []Figure{km, hr}, nil
}

// riskPalette runs from the lowest to the highest risk. Its colours are
// close to the viridis colour map of matplotlib, reversed and cut before
// its palest yellow, so every line stays visible on white.
var riskPalette = []color.NRGBA{
	{0xBD, 0xDF, 0x26, 0xFF}, {0x7A, 0xD1, 0x51, 0xFF}, {0x44, 0xBF, 0x70, 0xFF},
	{0x22, 0xA8, 0x84, 0xFF}, {0x21, 0x91, 0x8C, 0xFF}, {0x2A, 0x78, 0x8E, 0xFF},
	{0x35, 0x5F, 0x8D, 0xFF}, {0x41, 0x44, 0x87, 0xFF}, {0x48, 0x24, 0x75, 0xFF},
	{0x44, 0x01, 0x54, 0xFF},
}

// paletteAt returns the colour a share t in [0, 1] along riskPalette,
// blending linearly between its stops.
func paletteAt(t float64) color.NRGBA {
	pos := t * float64(len(riskPalette)-1)
	k := min(int(pos), len(riskPalette)-2)
	frac := pos - float64(k)
	a, b := riskPalette[k], riskPalette[k+1]
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + frac*(float64(y)-float64(x)))) }
	return color.NRGBA{R: mix(a.R, b.R), G: mix(a.G, b.G), B: mix(a.B, b.B), A: 0xFF}
}

// kaplanMeierFigure draws one survival step curve per risk decile, from
// light green for the lowest risk to dark purple for the highest.
func kaplanMeierFigure(curves []survival.RiskGroupCurve) (Figure, error) {
	const title = "Kaplan-Meier survival by decile of Cox risk"
	if len(curves) == 0 {
		return skipped(NameKaplanMeier, title, "Phase 2 recorded no risk-decile curves"), nil
	}
	f := Figure{Name: NameKaplanMeier, Title: title}
	p := newPlot("Kaplan-Meier survival by decile of Cox risk (test split)", "Tenure (months)", "Share of customers still subscribed")
	p.Y.Min, p.Y.Max = 0, 1
	for k, c := range curves {
		xys := plotter.XYs{{X: 0, Y: 1}}
		for _, pt := range c.Points {
			xys = append(xys, plotter.XY{X: pt.Time, Y: pt.Survival})
		}
		line, err := plotter.NewLine(thin(xys))
		if err != nil {
			return f, err
		}
		line.StepStyle = plotter.PostStep
		t := 0.0
		if len(curves) > 1 {
			t = float64(k) / float64(len(curves)-1)
		}
		line.Color = paletteAt(t)
		line.Width = vg.Points(1.8)
		p.Add(line)
		label := fmt.Sprintf("decile %d (n = %d)", c.Decile, c.Count)
		switch k {
		case 0:
			label = fmt.Sprintf("decile %d, lowest risk (n = %d)", c.Decile, c.Count)
		case len(curves) - 1:
			label = fmt.Sprintf("decile %d, highest risk (n = %d)", c.Decile, c.Count)
		}
		p.Legend.Add(label, line)
	}
	f.Plot = p
	moveLegendOutside(&f)
	return f, nil
}

// hazardRatioFigure draws a forest plot of the Cox hazard ratios per unit
// of each feature on a log axis, sorted by ratio, with 95% Wald intervals
// exp(coef ± 1.96 × SE) on the original feature scale. A ratio whose
// interval lies above 1 is vermilion, below 1 blue, and across 1 grey.
// Aliased columns (SummaryRow.Aliased: a linear combination of the
// columns before them, which an unpenalised fit could not estimate) get a
// ring instead of a dot. Columns that are only collinear keep the dot, so
// a one-hot group shows one ring, as R marks it.
func hazardRatioFigure(summary []survival.SummaryRow) (Figure, error) {
	const title = "Cox hazard ratios with 95% intervals"
	if len(summary) == 0 {
		return skipped(NameHazardRatios, title, "Phase 2 recorded no Cox summary"), nil
	}
	rows := slices.Clone(summary)
	slices.SortStableFunc(rows, func(a, b survival.SummaryRow) int { return cmp.Compare(a.CoefOriginal, b.CoefOriginal) })
	clamp := func(x float64) float64 { return math.Min(maxHazardRatio, math.Max(minHazardRatio, x)) }

	f := Figure{Name: NameHazardRatios, Title: title}
	p := newPlot("Cox hazard ratios per unit of each feature, with 95% Wald intervals",
		"Hazard ratio (log scale; above 1 means earlier churn)", "")
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = logTicks{}
	p.Y.Tick.Label.Font.Size = vg.Points(8)

	names := make([]string, len(rows))
	lo, hi := 1.0, 1.0
	var marks [2][3]plotter.XYs // [aliased][direction] points
	for k, r := range rows {
		y := float64(k)
		names[k] = r.Feature
		ratio := clamp(math.Exp(r.CoefOriginal))
		lo, hi = math.Min(lo, ratio), math.Max(hi, ratio)
		direction := 1 // interval across 1, or no interval
		if se := r.SEOriginal; se > 0 && !math.IsInf(se, 0) && !math.IsNaN(se) {
			a := clamp(math.Exp(r.CoefOriginal - z975*se))
			b := clamp(math.Exp(r.CoefOriginal + z975*se))
			lo, hi = math.Min(lo, a), math.Max(hi, b)
			switch {
			case a > 1:
				direction = 2
			case b < 1:
				direction = 0
			}
			l, err := plotter.NewLine(plotter.XYs{{X: a, Y: y}, {X: b, Y: y}})
			if err != nil {
				return f, err
			}
			l.Color, l.Width = hazardColors[direction], vg.Points(1.4)
			p.Add(l)
		}
		aliased := 0
		if r.Aliased {
			aliased = 1
		}
		marks[aliased][direction] = append(marks[aliased][direction], plotter.XY{X: ratio, Y: y})
	}
	p.X.Min, p.X.Max = lo/1.5, hi*1.5

	one, err := verticalLine(1, -0.5, float64(len(rows))-0.5, colorGray)
	if err != nil {
		return f, err
	}
	p.Add(one)
	// The label sits just above the top row, right of the line.
	ref, err := plotter.NewLabels(plotter.XYLabels{
		XYs:    plotter.XYs{{X: 1, Y: float64(len(rows)) - 0.5}},
		Labels: []string{" hazard ratio 1: no effect"},
	})
	if err != nil {
		return f, err
	}
	ref.TextStyle[0].Font.Size = vg.Points(8)
	ref.TextStyle[0].Color = colorGray
	ref.TextStyle[0].XAlign = draw.XLeft
	ref.TextStyle[0].YAlign = draw.YBottom
	p.Add(ref)
	for aliased, byDirection := range marks {
		for direction, pts := range byDirection {
			if len(pts) == 0 {
				continue
			}
			s, err := plotter.NewScatter(pts)
			if err != nil {
				return f, err
			}
			s.GlyphStyle = draw.GlyphStyle{Color: hazardColors[direction], Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
			if aliased == 1 {
				s.GlyphStyle.Shape = draw.RingGlyph{}
			}
			p.Add(s)
		}
	}
	legendDot := func(c color.Color, shape draw.GlyphDrawer) *plotter.Scatter {
		s, _ := plotter.NewScatter(plotter.XYs{{X: 1, Y: 0}})
		s.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(3), Shape: shape}
		return s
	}
	p.Legend.Add("interval above 1: raises the churn hazard", legendDot(hazardColors[2], draw.CircleGlyph{}))
	p.Legend.Add("interval below 1: lowers the churn hazard", legendDot(hazardColors[0], draw.CircleGlyph{}))
	p.Legend.Add("interval includes 1", legendDot(hazardColors[1], draw.CircleGlyph{}))
	p.Legend.Add("ring: aliased column, a linear combination of the columns before it; only the ridge penalty sets it", legendDot(colorGray, draw.RingGlyph{}))
	p.NominalY(names...)
	f.Plot = p
	f.Width = 9 * vg.Inch
	f.Height = vg.Length(2.2+0.2*float64(len(rows))) * vg.Inch
	moveLegendBelow(&f)
	return f, nil
}

// hazardColors colours a hazard ratio by where its interval lies: below
// 1, across 1, above 1.
var hazardColors = [3]color.Color{colorBlue, colorGray, colorVermilion}

// logTicks marks a log axis at round multiples of each power of ten. Up
// to 1.5 decades, 1, 1.5, 2, 3, 4, 5 and 7 times each power carry a
// label and 6, 8 and 9 times get an unlabelled tick. Up to three decades,
// 1, 2 and 5 times carry a label and 3 times an unlabelled tick. Beyond,
// only the powers of ten carry a label, which keeps the labels apart.
type logTicks struct{}

// Ticks implements plot.Ticker.
func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) {
		return nil
	}
	decades := math.Log10(hi / lo)
	var labelled, minor []float64
	switch {
	case decades <= 1.5:
		labelled, minor = []float64{1, 1.5, 2, 3, 4, 5, 7}, []float64{6, 8, 9}
	case decades <= 3:
		labelled, minor = []float64{1, 2, 5}, []float64{3}
	default:
		labelled, minor = []float64{1}, []float64{2, 5}
	}
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		base := math.Pow(10, e)
		for _, m := range slices.Sorted(slices.Values(append(slices.Clone(labelled), minor...))) {
			// Rounded to 12 significant digits, so 3 × 0.1 prints as 0.3.
			v, _ := strconv.ParseFloat(strconv.FormatFloat(m*base, 'g', 12, 64), 64)
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if slices.Contains(labelled, m) {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}
