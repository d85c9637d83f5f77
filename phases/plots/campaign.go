package plots

import (
	"cmp"
	"errors"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/ecomopti/ecomopti/phases/dataset"
	"github.com/ecomopti/ecomopti/phases/optimize"
)

// Names of the campaign figures, in the order Campaign returns them.
const (
	NameCumulative  = "cumulative_net_value"
	NameWaterfall   = "roi_waterfall"
	NameSweep       = "budget_sweep"
	NameScatter     = "clv_vs_uplift"
	NameSpend       = "spend_by_segment"
	NameCalibration = "uplift_calibration"
)

// CampaignInput holds what the campaign charts draw.
type CampaignInput struct {
	// Report is the optimisation to draw. It must come from
	// optimize.Optimize, because the charts need every customer.
	Report *optimize.Report
	// Sweep is the budget sweep of the same request. Without it the budget
	// sweep chart is skipped.
	Sweep *optimize.Sweep
	// Scores are the scores the report was priced from. The calibration
	// chart needs their TrueUplift and is skipped without it.
	Scores *dataset.Scores
}

// Campaign builds the six campaign charts, in the order of the Name
// constants. Charts that cannot be drawn are returned with Skipped set.
// It returns an error when the report has no customers or gonum/plot
// rejects the data.
func Campaign(in CampaignInput) ([]Figure, error) {
	if in.Report == nil || in.Report.Customers() == nil {
		return nil, errors.New("campaign plots: the report has no customers, because it was decoded from JSON rather than built by Optimize")
	}
	builders := []func(CampaignInput) (Figure, error){
		cumulativeFigure, waterfallFigure, sweepFigure, scatterFigure, spendFigure, calibrationFigure,
	}
	out := make([]Figure, 0, len(builders))
	for _, build := range builders {
		f, err := build(in)
		if err != nil {
			return nil, fmt.Errorf("campaign plots: %s: %w", f.Name, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// describe returns "split split, model model" for titles.
func describe(r *optimize.Report) string {
	return fmt.Sprintf("%s split, %s model", r.Request.Split, r.Request.Model)
}

// priorityOrder returns the eligible customers by v/cost descending, then
// v descending, then ID: the order of the CRM export's priority score.
func priorityOrder(customers []optimize.Customer) []optimize.Customer {
	var out []optimize.Customer
	for _, c := range customers {
		if c.Status == optimize.StatusEligible {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b optimize.Customer) int {
		ra := float64(a.ValueCents) / float64(a.CostCents)
		rb := float64(b.ValueCents) / float64(b.CostCents)
		return cmp.Or(cmp.Compare(rb, ra), cmp.Compare(b.ValueCents, a.ValueCents), strings.Compare(a.ID, b.ID))
	})
	return out
}

// cumulativeFigure draws the cumulative net value of treating customers in
// priority order against the expected net value of random targeting, both
// by money spent.
//
// Random targeting draws customers of the whole split without a model:
// each treated customer costs their segment's price and gains v = u × CLV,
// or nothing when they already churned and churned customers are excluded
// by setting. Its expected net value is linear in spend, with slope
// Σ(gain - cost) / Σ cost over the split.
func cumulativeFigure(in CampaignInput) (Figure, error) {
	r := in.Report
	f := Figure{Name: NameCumulative, Title: "Cumulative net value by priority against random targeting"}
	order := priorityOrder(r.Customers())
	curve := make(plotter.XYs, 0, len(order)+1)
	curve = append(curve, plotter.XY{})
	var spent, net float64
	for _, c := range order {
		spent += float64(c.CostCents) / 100
		net += float64(c.NetCents()) / 100
		curve = append(curve, plotter.XY{X: spent, Y: net})
	}

	var randomGain, randomCost float64
	for _, c := range r.Customers() {
		randomCost += float64(c.CostCents) / 100
		if !c.Churned || r.Settings.IncludeChurned {
			randomGain += float64(c.ValueCents) / 100
		}
	}
	slope := (randomGain - randomCost) / randomCost
	budget := float64(r.BudgetCents) / 100
	xMax := math.Max(spent, budget)

	p := newPlot(fmt.Sprintf("Cumulative net value by priority (%s)", describe(r)),
		"Campaign spend (US dollars)", "Cumulative net value (US dollars)")
	p.X.Tick.Marker = dollarTicks{}
	p.Y.Tick.Marker = dollarTicks{}

	priority, err := plotter.NewLine(thin(curve))
	if err != nil {
		return f, err
	}
	priority.Color, priority.Width = colorBlue, vg.Points(2)
	random, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: xMax, Y: slope * xMax}})
	if err != nil {
		return f, err
	}
	random.Color, random.Width = colorOrange, vg.Points(2)
	random.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}

	yLo, yHi := math.Min(0, slope*xMax), math.Max(net, 0)
	budgetLine, err := verticalLine(budget, yLo, yHi, colorGray)
	if err != nil {
		return f, err
	}
	m := r.Metrics
	chosen, err := plotter.NewScatter(plotter.XYs{{X: m.TotalCost, Y: m.NetValue}})
	if err != nil {
		return f, err
	}
	chosen.GlyphStyle = draw.GlyphStyle{Color: colorVermilion, Radius: vg.Points(5), Shape: draw.PyramidGlyph{}}

	p.Add(priority, random, budgetLine, chosen)
	p.Legend.Add("treat by v/cost priority", priority)
	p.Legend.Add("random targeting (expected)", random)
	p.Legend.Add("budget "+formatDollars(budget), budgetLine)
	p.Legend.Add(fmt.Sprintf("%s selection: %s net", r.Solver, formatDollars(m.NetValue)), chosen)
	f.Plot = p
	moveLegendOutside(&f)
	return f, nil
}

// waterfallFigure draws the ROI waterfall: the incremental value of each
// segment stacked up, the treatment cost of each segment taken off, and
// the net value that remains.
func waterfallFigure(in CampaignInput) (Figure, error) {
	r := in.Report
	m := r.Metrics
	f := Figure{Name: NameWaterfall, Title: "ROI waterfall"}
	var bars []floatingBar
	var names []string
	// Increases are labelled above their bar and decreases below it, so
	// no label sits on a connector.
	var above, below plotter.XYs
	var aboveText, belowText []string
	level := 0.0
	step := func(name string, delta float64, c color.Color) {
		x := float64(len(bars))
		bars = append(bars, floatingBar{From: level, To: level + delta, Color: c})
		names = append(names, name)
		if delta < 0 {
			below = append(below, plotter.XY{X: x, Y: level + delta})
			belowText = append(belowText, "−"+formatDollars(-delta))
		} else {
			above = append(above, plotter.XY{X: x, Y: level + delta})
			aboveText = append(aboveText, "+"+formatDollars(delta))
		}
		level += delta
	}
	for _, s := range r.Segments {
		step("value: "+s.Segment.String(), s.IncrementalValue, colorGreen)
	}
	for _, s := range r.Segments {
		step("cost: "+s.Segment.String(), -s.TotalCost, colorVermilion)
	}
	bars = append(bars, floatingBar{From: 0, To: m.NetValue, Color: colorBlue})
	names = append(names, "net value")
	above = append(above, plotter.XY{X: float64(len(bars) - 1), Y: m.NetValue})
	aboveText = append(aboveText, formatDollars(m.NetValue))

	title := fmt.Sprintf("ROI waterfall: %s net on %s spend, ROI %.0f%% (%s)",
		formatDollars(m.NetValue), formatDollars(m.TotalCost), 100*m.ROI, describe(r))
	p := newPlot(title, "Tenure segment: incremental CLV value and treatment cost", "US dollars")
	p.Y.Tick.Marker = dollarTicks{}
	p.Add(&floatingBars{Bars: bars, Width: vg.Points(40)})
	for _, group := range []struct {
		xys   plotter.XYs
		text  []string
		below bool
	}{{above, aboveText, false}, {below, belowText, true}} {
		if len(group.xys) == 0 {
			continue
		}
		labels, err := valueLabels(group.xys, group.text, group.below)
		if err != nil {
			return f, err
		}
		p.Add(labels)
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.6, float64(len(bars))-0.4
	f.Plot = p
	return f, nil
}

// sweepFigure draws the exact and greedy net value at each budget of the
// sweep, with the request's budget marked.
func sweepFigure(in CampaignInput) (Figure, error) {
	const title = "Budget sweep: net value by budget"
	if in.Sweep == nil {
		return skipped(NameSweep, title, "no budget sweep was run; start the pipeline with run_sweep set to draw it"), nil
	}
	r := in.Report
	var exact, greedy plotter.XYs
	infeasible := 0
	for _, pt := range in.Sweep.Points {
		if !pt.Feasible {
			infeasible++
			continue
		}
		exact = append(exact, plotter.XY{X: pt.Budget, Y: pt.Metrics.NetValue})
		greedy = append(greedy, plotter.XY{X: pt.Budget, Y: pt.GreedyNetValue})
	}
	if len(exact) == 0 {
		return skipped(NameSweep, title, "no budget of the sweep can meet the segment minimums"), nil
	}
	f := Figure{Name: NameSweep, Title: title}
	full := fmt.Sprintf("Budget sweep: net value by budget (%s)", describe(r))
	if infeasible > 0 {
		full = fmt.Sprintf("Budget sweep (%s; %d infeasible budgets not shown)", describe(r), infeasible)
	}
	p := newPlot(full, "Campaign budget (US dollars)", "Net value (US dollars)")
	p.X.Tick.Marker = dollarTicks{}
	p.Y.Tick.Marker = dollarTicks{}

	exactLine, exactPoints, err := plotter.NewLinePoints(exact)
	if err != nil {
		return f, err
	}
	exactLine.Color, exactLine.Width = colorBlue, vg.Points(2)
	exactPoints.GlyphStyle = draw.GlyphStyle{Color: colorBlue, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
	greedyLine, greedyPoints, err := plotter.NewLinePoints(greedy)
	if err != nil {
		return f, err
	}
	greedyLine.Color, greedyLine.Width = colorOrange, vg.Points(1.5)
	greedyLine.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	greedyPoints.GlyphStyle = draw.GlyphStyle{Color: colorOrange, Radius: vg.Points(3), Shape: draw.PyramidGlyph{}}

	yMax := 0.0
	for _, xy := range exact {
		yMax = math.Max(yMax, xy.Y)
	}
	budget := float64(r.BudgetCents) / 100
	budgetLine, err := verticalLine(budget, 0, yMax, colorGray)
	if err != nil {
		return f, err
	}
	p.Add(exactLine, exactPoints, greedyLine, greedyPoints, budgetLine)
	p.Legend.Add("exact optimum", exactLine, exactPoints)
	p.Legend.Add("greedy", greedyLine, greedyPoints)
	p.Legend.Add("requested budget "+formatDollars(budget), budgetLine)
	f.Plot = p
	moveLegendOutside(&f)
	return f, nil
}

// scatterFigure draws every customer by clipped uplift and CLV, with the
// selected ones marked and the minimum uplift shown. Excluded customers
// are split by the reason: already churned, uplift below the minimum, or
// incremental value not above the treatment cost.
func scatterFigure(in CampaignInput) (Figure, error) {
	r := in.Report
	f := Figure{Name: NameScatter, Title: "CLV against uplift with the selection marked"}
	var selected, skippedEligible, churned, lowUplift, notWorth plotter.XYs
	for row, c := range r.Customers() {
		xy := plotter.XY{X: 100 * c.Uplift, Y: c.CLV}
		switch {
		case r.IsSelected(row):
			selected = append(selected, xy)
		case c.Status == optimize.StatusEligible:
			skippedEligible = append(skippedEligible, xy)
		case c.Status == optimize.StatusChurned:
			churned = append(churned, xy)
		case c.Status == optimize.StatusLowUplift:
			lowUplift = append(lowUplift, xy)
		default:
			notWorth = append(notWorth, xy)
		}
	}
	title := fmt.Sprintf("CLV and uplift: %d of %d customers selected (%s)",
		len(selected), len(r.Customers()), describe(r))
	for _, g := range []plotter.XYs{selected, skippedEligible, churned, lowUplift, notWorth} {
		if len(g) > MaxPoints {
			title += fmt.Sprintf(", at most %d points per group shown", MaxPoints)
			break
		}
	}
	p := newPlot(title, "Uplift u, clipped to p0 (percentage points of 6-month retention)", "Predicted 6-month CLV (US dollars)")
	p.Y.Tick.Marker = dollarTicks{}

	groups := []struct {
		name string
		xys  plotter.XYs
		sty  draw.GlyphStyle
	}{
		{"excluded: already churned", churned, draw.GlyphStyle{Color: colorGray, Radius: vg.Points(2), Shape: draw.CrossGlyph{}}},
		{"excluded: uplift below the minimum", lowUplift, draw.GlyphStyle{Color: colorLightGray, Radius: vg.Points(1.5), Shape: draw.CircleGlyph{}}},
		{"excluded: value not above cost", notWorth, draw.GlyphStyle{Color: colorPurple, Radius: vg.Points(1.5), Shape: draw.CircleGlyph{}}},
		{"eligible, not selected", skippedEligible, draw.GlyphStyle{Color: colorSky, Radius: vg.Points(2), Shape: draw.RingGlyph{}}},
		{"selected", selected, draw.GlyphStyle{Color: colorVermilion, Radius: vg.Points(2.2), Shape: draw.CircleGlyph{}}},
	}
	yMax := 0.0
	for _, g := range groups {
		for _, xy := range g.xys {
			yMax = math.Max(yMax, xy.Y)
		}
	}
	for _, g := range groups {
		if len(g.xys) == 0 {
			continue
		}
		s, err := plotter.NewScatter(thin(g.xys))
		if err != nil {
			return f, err
		}
		s.GlyphStyle = g.sty
		p.Add(s)
		p.Legend.Add(fmt.Sprintf("%s (%d)", g.name, len(g.xys)), s)
	}
	minUplift := 100 * r.Settings.MinUplift
	threshold, err := verticalLine(minUplift, 0, yMax, colorGray)
	if err != nil {
		return f, err
	}
	p.Add(threshold)
	p.Legend.Add(fmt.Sprintf("minimum uplift %.2g points", minUplift), threshold)
	f.Plot = p
	moveLegendOutside(&f)
	return f, nil
}

// spendFigure draws, per tenure segment, the selection's spend,
// incremental value and net value as grouped bars.
func spendFigure(in CampaignInput) (Figure, error) {
	r := in.Report
	f := Figure{Name: NameSpend, Title: "Spend by tenure segment"}
	series := []struct {
		name  string
		value func(optimize.SegmentSummary) float64
		color color.Color
	}{
		{"treatment spend", func(s optimize.SegmentSummary) float64 { return s.TotalCost }, colorVermilion},
		{"incremental CLV value", func(s optimize.SegmentSummary) float64 { return s.IncrementalValue }, colorGreen},
		{"net value", func(s optimize.SegmentSummary) float64 { return s.NetValue }, colorBlue},
	}
	width := vg.Points(28)
	title := fmt.Sprintf("Spend by tenure segment: %s of a %s budget (%s)",
		formatDollars(r.Metrics.TotalCost), formatDollars(float64(r.BudgetCents)/100), describe(r))
	p := newPlot(title, "Tenure segment: customers selected × treatment cost each", "US dollars")
	p.Y.Tick.Marker = dollarTicks{}
	var tops plotter.XYs
	var labels []string
	var names []string
	for _, s := range r.Segments {
		names = append(names, fmt.Sprintf("%s (%s months): %d × %s", s.Segment, tenureMonths[s.Segment], s.Selected, formatDollars(s.UnitCost)))
	}
	for k, sr := range series {
		values := make(plotter.Values, len(r.Segments))
		for j, s := range r.Segments {
			values[j] = sr.value(s)
		}
		bars, err := plotter.NewBarChart(values, width)
		if err != nil {
			return f, err
		}
		bars.Color = sr.color
		bars.LineStyle.Width = vg.Points(0.5)
		bars.Offset = vg.Length(k-1) * width
		p.Add(bars)
		p.Legend.Add(sr.name, bars)
		for j, v := range values {
			tops = append(tops, plotter.XY{X: float64(j), Y: math.Max(v, 0)})
			labels = append(labels, formatDollars(v))
		}
	}
	p.NominalX(names...)
	// The labels of a series are anchored at the category centres and
	// shifted by the same offset as the series' bars.
	for k := range series {
		text, err := valueLabels(tops[k*len(r.Segments):(k+1)*len(r.Segments)], labels[k*len(r.Segments):(k+1)*len(r.Segments)], false)
		if err != nil {
			return f, err
		}
		text.Offset.X = vg.Length(k-1) * width
		p.Add(text)
	}
	f.Plot = p
	moveLegendOutside(&f)
	return f, nil
}

// tenureMonths names the tenure range of each segment in months.
var tenureMonths = map[optimize.Segment]string{
	optimize.SegmentNew:  "0-11",
	optimize.SegmentMid:  "12-35",
	optimize.SegmentLong: "36+",
}

// calibrationFigure compares, by decile of predicted uplift, the mean
// predicted uplift with the mean true uplift. Deciles are equal-count
// groups of the customers ordered by predicted uplift, ties broken by ID.
func calibrationFigure(in CampaignInput) (Figure, error) {
	const title = "Uplift calibration by decile against the truth"
	r := in.Report
	if in.Scores == nil || in.Scores.TrueUplift == nil {
		return skipped(NameCalibration, title, "the scores carry no true uplift (real campaign data has none), so calibration against the truth cannot be drawn"), nil
	}
	customers := r.Customers()
	if len(customers) < 10 {
		return skipped(NameCalibration, title, fmt.Sprintf("%d customers are too few for deciles", len(customers))), nil
	}
	predicted, truth, err := calibrationDeciles(customers, in.Scores)
	if err != nil {
		return Figure{Name: NameCalibration}, err
	}

	f := Figure{Name: NameCalibration, Title: title}
	p := newPlot(fmt.Sprintf("Uplift calibration by decile of predicted uplift (%s)", describe(r)),
		"Decile of predicted uplift (1 = lowest)", "Mean uplift (percentage points)")
	ticks := make(plot.ConstantTicks, 10)
	for d := range ticks {
		ticks[d] = plot.Tick{Value: float64(d + 1), Label: fmt.Sprint(d + 1)}
	}
	p.X.Tick.Marker = ticks
	zero, err := plotter.NewLine(plotter.XYs{{X: 1, Y: 0}, {X: 10, Y: 0}})
	if err != nil {
		return f, err
	}
	zero.Color, zero.Width = colorGray, vg.Points(0.8)
	predLine, predPoints, err := plotter.NewLinePoints(predicted)
	if err != nil {
		return f, err
	}
	predLine.Color, predLine.Width = colorBlue, vg.Points(2)
	predPoints.GlyphStyle = draw.GlyphStyle{Color: colorBlue, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
	trueLine, truePoints, err := plotter.NewLinePoints(truth)
	if err != nil {
		return f, err
	}
	trueLine.Color, trueLine.Width = colorOrange, vg.Points(2)
	trueLine.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	truePoints.GlyphStyle = draw.GlyphStyle{Color: colorOrange, Radius: vg.Points(3), Shape: draw.BoxGlyph{}}
	p.Add(zero, predLine, predPoints, trueLine, truePoints)
	p.Legend.Add("mean predicted uplift ("+r.Request.Model+")", predLine, predPoints)
	p.Legend.Add("mean true uplift", trueLine, truePoints)
	f.Plot = p
	moveLegendOutside(&f)
	return f, nil
}

// calibrationDeciles returns, for each decile of predicted uplift, the
// mean predicted and the mean true uplift in percentage points. Deciles
// are equal-count groups of the customers ordered by predicted uplift,
// ties broken by ID; the true uplift is read from the customer's row of
// scores.
func calibrationDeciles(customers []optimize.Customer, scores *dataset.Scores) (predicted, truth plotter.XYs, err error) {
	if len(scores.TrueUplift) != scores.Len() {
		return nil, nil, fmt.Errorf("%d true uplift values for %d customers", len(scores.TrueUplift), scores.Len())
	}
	order := slices.Clone(customers)
	slices.SortFunc(order, func(a, b optimize.Customer) int {
		return cmp.Or(cmp.Compare(a.ModelUplift, b.ModelUplift), strings.Compare(a.ID, b.ID))
	})
	n := len(order)
	for d := range 10 {
		lo, hi := d*n/10, (d+1)*n/10
		var sumPred, sumTrue float64
		for _, c := range order[lo:hi] {
			if c.Row < 0 || c.Row >= scores.Len() || scores.IDs[c.Row] != c.ID {
				return nil, nil, fmt.Errorf("customer %s is not row %d of the scores", c.ID, c.Row)
			}
			sumPred += c.ModelUplift
			sumTrue += scores.TrueUplift[c.Row]
		}
		size := float64(hi - lo)
		predicted = append(predicted, plotter.XY{X: float64(d + 1), Y: 100 * sumPred / size})
		truth = append(truth, plotter.XY{X: float64(d + 1), Y: 100 * sumTrue / size})
	}
	return predicted, truth, nil
}
