package plots

import (
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// floatingBar is one bar of a waterfall, spanning from From to To on the
// value axis.
type floatingBar struct {
	From, To float64
	Color    color.Color
}

// floatingBars draws a waterfall: bar k sits at category k and spans its
// own From to To, and a thin connector joins the end of each bar to the
// start of the next. It implements plot.Plotter, plot.DataRanger and
// plot.GlyphBoxer.
type floatingBars struct {
	Bars  []floatingBar
	Width vg.Length
}

// Plot implements plot.Plotter.
func (b *floatingBars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	connector := draw.LineStyle{Color: colorGray, Width: vg.Points(0.8), Dashes: []vg.Length{vg.Points(2), vg.Points(2)}}
	outline := draw.LineStyle{Color: color.Black, Width: vg.Points(0.5)}
	for k, bar := range b.Bars {
		x := trX(float64(k))
		left, right := x-b.Width/2, x+b.Width/2
		lo, hi := trY(math.Min(bar.From, bar.To)), trY(math.Max(bar.From, bar.To))
		pts := []vg.Point{{X: left, Y: lo}, {X: left, Y: hi}, {X: right, Y: hi}, {X: right, Y: lo}}
		c.FillPolygon(bar.Color, c.ClipPolygonY(pts))
		c.StrokeLines(outline, c.ClipLinesY(append(pts, pts[0]))...)
		if k+1 < len(b.Bars) {
			y := trY(bar.To)
			next := trX(float64(k + 1))
			c.StrokeLine2(connector, right, y, next-b.Width/2, y)
		}
	}
}

// DataRange implements plot.DataRanger. The value range always includes
// zero, so the bars stand on a visible baseline.
func (b *floatingBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	ymin, ymax = 0, 0
	for _, bar := range b.Bars {
		ymin = math.Min(ymin, math.Min(bar.From, bar.To))
		ymax = math.Max(ymax, math.Max(bar.From, bar.To))
	}
	return 0, float64(len(b.Bars) - 1), ymin, ymax
}

// GlyphBoxes implements plot.GlyphBoxer, so the outer bars are not cut
// off at the edges of the data area.
func (b *floatingBars) GlyphBoxes(p *plot.Plot) []plot.GlyphBox {
	boxes := make([]plot.GlyphBox, len(b.Bars))
	for k := range b.Bars {
		boxes[k].X = p.X.Norm(float64(k))
		boxes[k].Rectangle = vg.Rectangle{Min: vg.Point{X: -b.Width / 2}, Max: vg.Point{X: b.Width / 2}}
	}
	return boxes
}
