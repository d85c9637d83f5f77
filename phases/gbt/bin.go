package gbt

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// binMapper maps raw feature values to histogram bins. Feature f has
// len(upper[f])+1 bins: value v falls in the first bin b with
// v <= upper[f][b], or in the last bin when v exceeds every edge. A
// missing value (NaN) gets the code numBins(f), one past the last bin.
type binMapper struct {
	upper [][]float64
}

func (m *binMapper) numBins(f int) int { return len(m.upper[f]) + 1 }

// code returns the bin code of v for feature f.
func (m *binMapper) code(f int, v float64) uint8 {
	edges := m.upper[f]
	if math.IsNaN(v) {
		return uint8(len(edges) + 1)
	}
	// Binary search for the first edge >= v.
	lo, hi := 0, len(edges)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if edges[mid] < v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return uint8(lo)
}

// threshold returns the raw split threshold for "bin <= b goes left" on
// feature f. A split that sends every non-missing value left has no edge,
// and gets math.MaxFloat64.
func (m *binMapper) threshold(f, b int) float64 {
	if b < len(m.upper[f]) {
		return m.upper[f][b]
	}
	return math.MaxFloat64
}

// fitBins chooses at most maxBins bins per column of x from its non-missing
// values. A column with at most maxBins distinct values gets one bin per
// value. Otherwise bins hold about equal row counts (quantile bins), and
// a value is never split across two bins, so a heavy value may leave fewer
// bins than maxBins. Edges lie halfway between neighbouring distinct values.
// Columns are processed by up to threads goroutines.
func fitBins(x *mat.Dense, maxBins, threads int) *binMapper {
	n, p := x.Dims()
	raw := x.RawMatrix()
	m := &binMapper{upper: make([][]float64, p)}
	parallelFor(p, threads, func(lo, hi int) {
		vals := make([]float64, 0, n)
		for f := lo; f < hi; f++ {
			vals = vals[:0]
			for i := 0; i < n; i++ {
				if v := raw.Data[i*raw.Stride+f]; !math.IsNaN(v) {
					vals = append(vals, v)
				}
			}
			slices.Sort(vals)
			m.upper[f] = binEdges(vals, maxBins)
		}
	})
	return m
}

// binEdges returns the upper edges of the bins for sorted values.
func binEdges(sorted []float64, maxBins int) []float64 {
	// Collapse the sorted values into distinct values and their counts.
	var distinct []float64
	var counts []int
	for i, v := range sorted {
		if i > 0 && v == sorted[i-1] {
			counts[len(counts)-1]++
			continue
		}
		distinct = append(distinct, v)
		counts = append(counts, 1)
	}
	if len(distinct) <= 1 {
		return nil
	}
	edges := make([]float64, 0, min(len(distinct), maxBins)-1)
	if len(distinct) <= maxBins {
		for k := 1; k < len(distinct); k++ {
			edges = append(edges, midpoint(distinct[k-1], distinct[k]))
		}
		return edges
	}

	// Close a bin once it holds its share of the rows not yet binned, so a
	// heavy value early on does not starve the later bins. When one bin is
	// left it takes every remaining row, so there are at most maxBins bins.
	remaining := len(sorted)
	inBin := 0
	for k := 0; k < len(distinct)-1; k++ {
		inBin += counts[k]
		binsLeft := maxBins - len(edges)
		if binsLeft > 1 && float64(inBin) >= float64(remaining)/float64(binsLeft) {
			edges = append(edges, midpoint(distinct[k], distinct[k+1]))
			remaining -= inBin
			inBin = 0
		}
	}
	return edges
}

// midpoint returns an edge t with a <= t < b for a < b.
func midpoint(a, b float64) float64 {
	t := a + (b-a)/2
	if t >= b || math.IsInf(t, 0) {
		// Adjacent floats, or a span wider than the float range.
		t = a
	}
	return t
}
