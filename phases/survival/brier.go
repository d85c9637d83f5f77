package survival

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// stepCurve is a right-continuous step function that starts at 1 and
// drops at Times: Value(t) = Values[k] for the last Times[k] <= t.
type stepCurve struct {
	Times  []float64
	Values []float64
}

// at returns the curve at t.
func (s stepCurve) at(t float64) float64 {
	k := sort.Search(len(s.Times), func(i int) bool { return s.Times[i] > t })
	if k == 0 {
		return 1
	}
	return s.Values[k-1]
}

// before returns the left limit of the curve at t, its value just before t.
func (s stepCurve) before(t float64) float64 {
	k := sort.Search(len(s.Times), func(i int) bool { return s.Times[i] >= t })
	if k == 0 {
		return 1
	}
	return s.Values[k-1]
}

// KMPoint is one step of a Kaplan-Meier curve.
type KMPoint struct {
	Time     float64 `json:"time"`     // months
	Survival float64 `json:"survival"` // estimate just after Time
	AtRisk   int     `json:"at_risk"`  // customers with tenure >= Time
	Events   int     `json:"events"`   // churns at Time
	Censored int     `json:"censored"` // censored at Time
}

// kaplanMeier returns the product-limit estimate of survival, one point
// per distinct observed time in ascending order.
func kaplanMeier(time, event []float64) []KMPoint {
	n := len(time)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return time[order[a]] < time[order[b]] })
	var points []KMPoint
	surv := 1.0
	for start := 0; start < n; {
		t := time[order[start]]
		pt := KMPoint{Time: t, AtRisk: n - start}
		end := start
		for end < n && time[order[end]] == t {
			if event[order[end]] != 0 {
				pt.Events++
			} else {
				pt.Censored++
			}
			end++
		}
		surv *= 1 - float64(pt.Events)/float64(pt.AtRisk)
		pt.Survival = surv
		points = append(points, pt)
		start = end
	}
	return points
}

// censoringKM returns the Kaplan-Meier estimate G(t) = P(C > t) of the
// censoring distribution. At a time with both churns and censorings the
// censorings are taken to happen just after the churns, so a churn at t
// leaves the censoring risk set at t.
func censoringKM(time, event []float64) stepCurve {
	var g stepCurve
	surv := 1.0
	for _, pt := range kaplanMeier(time, event) {
		if pt.Censored == 0 {
			continue
		}
		surv *= 1 - float64(pt.Censored)/float64(pt.AtRisk-pt.Events)
		g.Times = append(g.Times, pt.Time)
		g.Values = append(g.Values, surv)
	}
	return g
}

// followUp is the time range where IPCW metrics are defined for one split:
// t must satisfy min <= t < max (the split's largest observed time) and
// G(t) > 0 for the censoring curve fitted on training.
type followUp struct {
	min, max float64
	cens     stepCurve
}

func newFollowUp(time []float64, cens stepCurve) followUp {
	return followUp{min: slices.Min(time), max: slices.Max(time), cens: cens}
}

func (f followUp) contains(t float64) bool {
	return t >= f.min && t < f.max && f.cens.at(t) > 0
}

// brierScore returns the IPCW Brier score at t months of the survival
// predictions surv (S(t | x_i), one per row). ok is false when t is
// outside the follow-up range.
func brierScore(time, event, surv []float64, t float64, fu followUp) (bs float64, ok bool) {
	if !fu.contains(t) {
		return 0, false
	}
	gt := fu.cens.at(t)
	var sum float64
	for i, ti := range time {
		switch {
		case ti <= t && event[i] != 0:
			// G(T_i-) >= G(t) > 0 because the curve never increases.
			sum += surv[i] * surv[i] / fu.cens.before(ti)
		case ti > t:
			sum += (1 - surv[i]) * (1 - surv[i]) / gt
		}
	}
	return sum / float64(len(time)), true
}

// TimeGrid is the grid of the integrated Brier score, in months.
type TimeGrid struct {
	Times []float64 `json:"times"`
	// Clipped is true when the 95th percentile of event times was not
	// strictly inside the follow-up range and the upper end was moved to
	// the largest observed time that is.
	Clipped bool `json:"clipped"`
}

// ibsGrid returns points equally spaced times from the 5th to the 95th
// percentile of the event times of a split, clipped to the follow-up
// range. ok is false when the split has no events or the clipped range is
// empty.
func ibsGrid(time, event []float64, points int, fu followUp) (grid TimeGrid, ok bool) {
	var eventTimes []float64
	for i, t := range time {
		if event[i] != 0 {
			eventTimes = append(eventTimes, t)
		}
	}
	if len(eventTimes) == 0 {
		return TimeGrid{}, false
	}

	slices.Sort(eventTimes)
	lo := max(quantileSorted(eventTimes, 0.05), fu.min)
	hi := quantileSorted(eventTimes, 0.95)
	if !fu.contains(hi) {
		// Move the upper end to the largest observed time strictly inside
		// the range.
		grid.Clipped = true
		hi = math.Inf(-1)
		for _, t := range time {
			if t > hi && fu.contains(t) {
				hi = t
			}
		}
	}
	if !(hi > lo) || !fu.contains(lo) {
		return grid, false
	}

	grid.Times = make([]float64, points)
	for k := range grid.Times {
		grid.Times[k] = lo + (hi-lo)*float64(k)/float64(points-1)
	}
	grid.Times[points-1] = hi
	return grid, true
}

// integratedBrier returns the trapezoidal mean of the Brier score over the
// grid, (1/(t_last - t_first)) integral BS(t) dt. survAt returns S(t | x_i)
// for every row.
func integratedBrier(time, event []float64, grid []float64, fu followUp, survAt func(t float64) []float64) (float64, error) {
	scores := make([]float64, len(grid))
	for k, t := range grid {
		bs, ok := brierScore(time, event, survAt(t), t, fu)
		if !ok {
			return 0, fmt.Errorf("brier score at %v months is outside the follow-up range", t)
		}
		scores[k] = bs
	}
	var area float64
	for k := 1; k < len(grid); k++ {
		area += (scores[k] + scores[k-1]) / 2 * (grid[k] - grid[k-1])
	}
	return area / (grid[len(grid)-1] - grid[0]), nil
}

// CalibrationBin compares predicted and observed survival at the horizon
// for one quantile bin of predicted survival.
type CalibrationBin struct {
	Bin   int `json:"bin"` // 1 is the lowest predicted survival
	Count int `json:"count"`
	// MinPredicted, MaxPredicted and MeanPredicted summarise the clipped
	// S(horizon | x) of the bin.
	MinPredicted  float64 `json:"min_predicted"`
	MaxPredicted  float64 `json:"max_predicted"`
	MeanPredicted float64 `json:"mean_predicted"`
	// Observed is the Kaplan-Meier survival of the bin at the horizon, nil
	// when the bin's follow-up ends before it.
	Observed *float64 `json:"observed,omitempty"`
	// Events counts churns at or before the horizon.
	Events int `json:"events"`
}

// quantileBins splits the rows into bins of near-equal size by ascending
// score, ties broken by row order, and returns the row indices of each.
func quantileBins(score []float64, bins int) [][]int {
	n := len(score)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return score[order[a]] < score[order[b]] })
	bins = min(bins, n)
	out := make([][]int, bins)
	for b := 0; b < bins; b++ {
		out[b] = order[b*n/bins : (b+1)*n/bins]
	}
	return out
}

// calibrationTable bins the rows by predicted survival s (clipped
// S(horizon | x)) and compares each bin with its Kaplan-Meier estimate.
func calibrationTable(time, event, s []float64, horizon float64, bins int) []CalibrationBin {
	var table []CalibrationBin
	for b, rows := range quantileBins(s, bins) {
		cb := CalibrationBin{Bin: b + 1, Count: len(rows), MinPredicted: math.Inf(1), MaxPredicted: math.Inf(-1)}
		bt, be := make([]float64, len(rows)), make([]float64, len(rows))
		var sum float64
		for k, i := range rows {
			bt[k], be[k] = time[i], event[i]
			sum += s[i]
			cb.MinPredicted = min(cb.MinPredicted, s[i])
			cb.MaxPredicted = max(cb.MaxPredicted, s[i])
			if event[i] != 0 && time[i] <= horizon {
				cb.Events++
			}
		}
		cb.MeanPredicted = sum / float64(len(rows))
		if slices.Max(bt) >= horizon {
			obs := 1.0
			for _, pt := range kaplanMeier(bt, be) {
				if pt.Time > horizon {
					break
				}
				obs = pt.Survival
			}
			cb.Observed = &obs
		}
		table = append(table, cb)
	}
	return table
}

// RiskGroupCurve is the Kaplan-Meier curve of one quantile group of the
// Cox risk score.
type RiskGroupCurve struct {
	Decile  int       `json:"decile"` // 1 is the lowest risk
	Count   int       `json:"count"`
	MinRisk float64   `json:"min_risk"`
	MaxRisk float64   `json:"max_risk"`
	Points  []KMPoint `json:"points"`
}

// riskDecileCurves returns the Kaplan-Meier curve of each of groups
// quantile groups of risk.
func riskDecileCurves(time, event, risk []float64, groups int) []RiskGroupCurve {
	var curves []RiskGroupCurve
	for g, rows := range quantileBins(risk, groups) {
		c := RiskGroupCurve{Decile: g + 1, Count: len(rows), MinRisk: math.Inf(1), MaxRisk: math.Inf(-1)}
		bt, be := make([]float64, len(rows)), make([]float64, len(rows))
		for k, i := range rows {
			bt[k], be[k] = time[i], event[i]
			c.MinRisk = min(c.MinRisk, risk[i])
			c.MaxRisk = max(c.MaxRisk, risk[i])
		}
		c.Points = kaplanMeier(bt, be)
		curves = append(curves, c)
	}
	return curves
}
