// Package plots draws the PNG charts of a pipeline run and of a campaign
// with gonum.org/v1/plot. For Phase 4 they are the cumulative net value by
// priority against random targeting, an ROI waterfall, the budget sweep
// curve, CLV against uplift with the selection marked, spend by segment
// and uplift calibration. For Phase 2 they are Kaplan-Meier curves by
// risk decile and the Cox hazard ratios.
//
// Each chart is a Figure. Builders never write files: the caller renders
// a Figure with WritePNG into whatever it stages, so a set of charts can
// be published atomically with the other outputs of a run. A chart that
// cannot be drawn from the inputs (no ground truth for calibration, no
// feasible budget in a sweep) comes back with Skipped set to the reason.
package plots

import (
	"cmp"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Image size and resolution. At 8 × 5 inches and 150 dots per inch a
// chart is 1200 × 750 pixels.
const (
	DefaultWidth  = 8 * vg.Inch
	DefaultHeight = 5 * vg.Inch
	DPI           = 150
)

// MaxPoints caps the points drawn by one line or scatter series. Longer
// series are thinned to evenly spaced points, keeping the first and last,
// so a chart of a million customers stays fast to draw and small.
const MaxPoints = 4000

// Figure is one chart, ready to render.
type Figure struct {
	// Name is the file-name part of the chart, such as "roi_waterfall".
	Name string `json:"name"`
	// Title is the chart's title, repeated here for listings.
	Title string `json:"title"`
	// Skipped, when not empty, gives the reason the chart could not be
	// drawn, and Plot is nil.
	Skipped string `json:"skipped,omitempty"`

	Plot          *plot.Plot `json:"-"`
	Width, Height vg.Length  `json:"-"`
	// legend, when set, is drawn outside the data area: in a strip of
	// legendWidth on the right of the image, or in a band of legendHeight
	// at its bottom when legendHeight is set.
	legend       *plot.Legend
	legendWidth  vg.Length
	legendHeight vg.Length
}

// skipped returns a Figure that records why a chart was not drawn.
func skipped(name, title, reason string) Figure {
	return Figure{Name: name, Title: title, Skipped: reason}
}

// WritePNG renders the figure as a PNG image. It is an error to render a
// skipped figure.
func (f Figure) WritePNG(w io.Writer) error {
	if f.Plot == nil {
		return fmt.Errorf("render %s: chart was skipped: %s", f.Name, f.Skipped)
	}
	width, height := f.Width, f.Height
	if width == 0 || height == 0 {
		width, height = DefaultWidth, DefaultHeight
	}
	img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(DPI))
	dc := draw.New(img)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	margin := vg.Points(6)
	dc = draw.Crop(dc, margin, -margin, margin, 0)

	// The title spans the whole image, legend strip included, and shrinks
	// until it fits the width, down to 8 points.
	p := *f.Plot
	if title := p.Title.Text; title != "" {
		sty := p.Title.TextStyle
		for sty.Font.Size > vg.Points(8) && sty.Rectangle(title).Size().X > width-4*margin {
			sty.Font.Size -= vg.Points(0.5)
		}
		descent := sty.FontExtents().Descent
		dc.FillText(sty, vg.Point{X: dc.Center().X, Y: dc.Max.Y - vg.Points(4) + descent}, title)
		dc = draw.Crop(dc, 0, 0, 0, -(sty.Rectangle(title).Size().Y + p.Title.Padding + vg.Points(4)))
		p.Title.Text = ""
	}
	switch {
	case f.legend != nil && f.legendHeight > 0:
		p.Draw(draw.Crop(dc, 0, 0, f.legendHeight, 0))
		band := draw.Crop(dc, vg.Points(12), 0, vg.Points(8), 0)
		band.Max.Y = band.Min.Y + f.legendHeight - vg.Points(8)
		f.legend.Draw(band)
	case f.legend != nil:
		p.Draw(draw.Crop(dc, 0, -f.legendWidth, 0, 0))
		f.legend.Draw(draw.Crop(dc, width-f.legendWidth+vg.Points(8), 0, 0, -vg.Points(12)))
	default:
		p.Draw(dc)
	}
	// Fast compression: the charts are mostly flat colour, so the files
	// stay small while encoding is faster than at the default level.
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(w, img.Image()); err != nil {
		return fmt.Errorf("render %s: %w", f.Name, err)
	}
	return nil
}

// Colours of the Okabe-Ito palette, which stays distinguishable under the
// common forms of colour blindness.
var (
	colorBlue      = color.NRGBA{R: 0x00, G: 0x72, B: 0xB2, A: 0xFF}
	colorOrange    = color.NRGBA{R: 0xE6, G: 0x9F, B: 0x00, A: 0xFF}
	colorGreen     = color.NRGBA{R: 0x00, G: 0x9E, B: 0x73, A: 0xFF}
	colorVermilion = color.NRGBA{R: 0xD5, G: 0x5E, B: 0x00, A: 0xFF}
	colorSky       = color.NRGBA{R: 0x56, G: 0xB4, B: 0xE9, A: 0xFF}
	colorPurple    = color.NRGBA{R: 0xCC, G: 0x79, B: 0xA7, A: 0xFF}
	colorGray      = color.NRGBA{R: 0x99, G: 0x99, B: 0x99, A: 0xFF}
	colorLightGray = color.NRGBA{R: 0xC8, G: 0xC8, B: 0xC8, A: 0xFF}
)

// newPlot returns a plot with a title, axis labels and a light grid.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.Title.Padding = vg.Points(8)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Tick.Marker = numberTicks{}
		a.Label.TextStyle.Font.Size = vg.Points(11)
		a.Tick.Label.Font.Size = vg.Points(9)
		a.Label.Padding = vg.Points(4)
	}
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 0xE4}
	grid.Horizontal.Color = color.Gray{Y: 0xE4}
	p.Add(grid)
	return p
}

// niceTicks returns major ticks about every (hi-lo)/6 at a round step
// (1, 2, 2.5 or 5 times a power of ten), each labelled by format, with an
// unlabelled minor tick halfway between them. When the range crosses zero
// and no major tick falls below it, the minor tick below zero gets a
// label, or without one the lowest round value of the negative part, so
// that part is never unlabelled. The exception is a value within 4% of
// the range from zero, whose label would overlap the label of 0.
func niceTicks(lo, hi float64, format func(float64) string) []plot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return nil
	}
	raw := (hi - lo) / 6
	base := math.Pow(10, math.Floor(math.Log10(raw)))
	step := base * 10
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*base >= raw {
			step = m * base
			break
		}
	}
	var ticks []plot.Tick
	for k := math.Ceil(lo / step * 2); k/2*step <= hi; k++ {
		v := k / 2 * step
		if v == 0 {
			v = 0 // turn -0 into 0
		}
		t := plot.Tick{Value: v}
		if int(k)%2 == 0 {
			t.Label = format(v)
		}
		ticks = append(ticks, t)
	}
	if lo < 0 && hi > 0 && !slices.ContainsFunc(ticks, func(t plot.Tick) bool { return t.Value < 0 && t.Label != "" }) {
		ticks = labelNegative(ticks, lo, hi, format)
	}
	return ticks
}

// labelNegative labels one tick below zero in ticks, which are sorted by
// value and have no labelled tick below zero, as niceTicks describes.
func labelNegative(ticks []plot.Tick, lo, hi float64, format func(float64) string) []plot.Tick {
	var v float64
	if len(ticks) > 0 && ticks[0].Value < 0 {
		// Below zero there is at most one tick, the minor one at half a
		// step, because the next one down would be a labelled major tick.
		v = ticks[0].Value
	} else {
		for _, t := range niceTicks(lo, 0, format) {
			if t.Label != "" && t.Value < 0 {
				v = t.Value
				break
			}
		}
	}
	if v == 0 || -v < 0.04*(hi-lo) {
		return ticks
	}
	for k := range ticks {
		if ticks[k].Value == v {
			ticks[k].Label = format(v)
			return ticks
		}
	}
	ticks = append(ticks, plot.Tick{Value: v, Label: format(v)})
	slices.SortFunc(ticks, func(a, b plot.Tick) int { return cmp.Compare(a.Value, b.Value) })
	return ticks
}

// dollarTicks labels round ticks as dollar amounts with thousands
// separators, such as "$12,500".
type dollarTicks struct{}

// Ticks implements plot.Ticker.
func (dollarTicks) Ticks(lo, hi float64) []plot.Tick { return niceTicks(lo, hi, formatDollars) }

// numberTicks labels round ticks with the shortest decimal form.
type numberTicks struct{}

// Ticks implements plot.Ticker.
func (numberTicks) Ticks(lo, hi float64) []plot.Tick {
	return niceTicks(lo, hi, func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) })
}

// formatDollars formats an amount as whole dollars with thousands
// separators, such as "-$1,234". Amounts below $100 that are not whole
// keep their cents, such as "$12.50".
func formatDollars(d float64) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	if d < 100 && d != math.Trunc(d) {
		return sign + "$" + strconv.FormatFloat(d, 'f', 2, 64)
	}
	whole := strconv.FormatFloat(math.Round(d), 'f', 0, 64)
	var grouped []byte
	for i := range len(whole) {
		if i > 0 && (len(whole)-i)%3 == 0 {
			grouped = append(grouped, ',')
		}
		grouped = append(grouped, whole[i])
	}
	return sign + "$" + string(grouped)
}

// thin returns at most MaxPoints points of xys, evenly spaced by index,
// always keeping the first and the last.
func thin(xys plotter.XYs) plotter.XYs {
	if len(xys) <= MaxPoints {
		return xys
	}
	out := make(plotter.XYs, 0, MaxPoints)
	step := float64(len(xys)-1) / float64(MaxPoints-1)
	for k := range MaxPoints {
		out = append(out, xys[int(math.Round(float64(k)*step))])
	}
	return out
}

// verticalLine returns a dashed line at x across [yMin, yMax].
func verticalLine(x, yMin, yMax float64, c color.Color) (*plotter.Line, error) {
	l, err := plotter.NewLine(plotter.XYs{{X: x, Y: yMin}, {X: x, Y: yMax}})
	if err != nil {
		return nil, err
	}
	l.Color = c
	l.Width = vg.Points(1.2)
	l.Dashes = []vg.Length{vg.Points(5), vg.Points(4)}
	return l, nil
}

// moveLegendOutside takes the legend out of the data area of f's plot and
// draws it in a strip on the right of the image, as wide as its longest
// entry. Use it when the data can cover any corner of the plot.
func moveLegendOutside(f *Figure) {
	l := f.Plot.Legend
	r := l.Rectangle(draw.Canvas{})
	f.legend = &l
	f.legend.Top, f.legend.Left = true, true
	f.legend.Padding = vg.Points(4)
	f.legendWidth = r.Max.X - r.Min.X + vg.Points(20)
	f.Plot.Legend = plot.NewLegend()
}

// moveLegendBelow takes the legend out of the data area of f's plot and
// draws it in a band under the x axis, one entry per line.
func moveLegendBelow(f *Figure) {
	l := f.Plot.Legend
	l.Top, l.Left = true, true
	l.Padding = vg.Points(3)
	r := l.Rectangle(draw.Canvas{})
	f.legend = &l
	f.legendHeight = r.Max.Y - r.Min.Y + vg.Points(20)
	f.Plot.Legend = plot.NewLegend()
}

// valueLabels returns text labels in the data area, centred on each
// point and 2 points above it, or below it when below is set.
func valueLabels(xys plotter.XYs, labels []string, below bool) (*plotter.Labels, error) {
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return nil, err
	}
	l.Offset = vg.Point{Y: vg.Points(2)}
	if below {
		l.Offset = vg.Point{Y: -vg.Points(2)}
	}
	for k := range l.TextStyle {
		l.TextStyle[k].Font.Size = vg.Points(8)
		l.TextStyle[k].XAlign = draw.XCenter
		l.TextStyle[k].YAlign = draw.YBottom
		if below {
			l.TextStyle[k].YAlign = draw.YTop
		}
	}
	return l, nil
}
