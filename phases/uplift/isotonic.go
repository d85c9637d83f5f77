package uplift

import (
	"slices"
	"sort"
)

// isotonic is a fitted non-decreasing calibration map. It is piecewise
// linear between the knots and constant beyond the first and last knot.
type isotonic struct {
	x, y []float64 // knots, x non-decreasing
}

// fitIsotonic fits the least-squares non-decreasing function of x to y by
// pool adjacent violators. Rows with equal x are pooled first, so the fit
// does not depend on row order.
func fitIsotonic(x, y []float64) isotonic {
	order := make([]int, len(x))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return x[order[a]] < x[order[b]] })

	// Pool ties in x into weighted points.
	var ux, uy, uw []float64
	for _, i := range order {
		if k := len(ux) - 1; k >= 0 && ux[k] == x[i] {
			uy[k] += y[i]
			uw[k]++
			continue
		}
		ux = append(ux, x[i])
		uy = append(uy, y[i])
		uw = append(uw, 1)
	}
	for k := range uy {
		uy[k] /= uw[k]
	}

	fit := pav(uy, uw)

	// A run of equal fitted values needs only its first and last knot.
	var m isotonic
	for k := range ux {
		n := len(m.y)
		if n >= 2 && m.y[n-1] == fit[k] && m.y[n-2] == fit[k] {
			m.x[n-1] = ux[k]
			continue
		}
		m.x = append(m.x, ux[k])
		m.y = append(m.y, fit[k])
	}
	return m
}

// pav returns the weighted least-squares non-decreasing sequence closest to
// y, by the pool-adjacent-violators algorithm: adjacent blocks whose means
// decrease are merged into their weighted mean until none remain.
func pav(y, w []float64) []float64 {
	type block struct {
		mean, weight float64
		size         int
	}
	stack := make([]block, 0, len(y))
	for i := range y {
		b := block{mean: y[i], weight: w[i], size: 1}
		for len(stack) > 0 && stack[len(stack)-1].mean >= b.mean {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			total := top.weight + b.weight
			b = block{
				mean:   (top.mean*top.weight + b.mean*b.weight) / total,
				weight: total,
				size:   top.size + b.size,
			}
		}
		stack = append(stack, b)
	}
	out := make([]float64, 0, len(y))
	for _, b := range stack {
		for range b.size {
			out = append(out, b.mean)
		}
	}
	return out
}

// predict evaluates the calibration map at v.
func (m isotonic) predict(v float64) float64 {
	n := len(m.x)
	switch {
	case n == 0:
		return 0.5
	case v <= m.x[0]:
		return m.y[0]
	case v >= m.x[n-1]:
		return m.y[n-1]
	}
	// m.x[k-1] < v <= m.x[k] after the search.
	k, _ := slices.BinarySearch(m.x, v)
	if m.x[k] == v {
		return m.y[k]
	}
	t := (v - m.x[k-1]) / (m.x[k] - m.x[k-1])
	return m.y[k-1] + t*(m.y[k]-m.y[k-1])
}
