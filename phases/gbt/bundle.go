package gbt

import (
	"cmp"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// binnedData is a feature matrix converted to bin codes and stored in
// columns, several features to a column where they allow it.
//
// Features that are never off their default bin in the same row, such as
// the one-hot columns of one categorical variable, share a column (an
// exclusive feature bundle). Code 0 of a bundle means every feature of it
// is at its default bin, and each feature owns a range of the other codes
// for its non-default bins. A histogram
// then needs one update per row and column instead of one per row and
// feature, and a feature's own histogram is rebuilt from its code range,
// its default bin getting the node total minus the other bins. Bundling is
// exact: a model grown on bundled data makes the same splits as one grown
// feature by feature, up to rounding in the sums.
//
// Codes are stored row by row, so one pass over a row updates the
// histograms of every column and consecutive updates hit different bins.
type binnedData struct {
	n, p   int
	mapper *binMapper
	// cols is the number of stored columns. The code of row i in column c
	// is codes[i*cols+c].
	cols  int
	codes []uint8
	// colOf is the column of each feature.
	colOf []int
	// offset[c] is the first histogram slot of column c, which owns one
	// slot per code.
	offset []int
	// decode[f][code] is the bin of feature f for a code of its column.
	// Bin numBins(f) marks a missing value.
	decode [][]uint8
	// missing[f] is numBins(f), the bin of a missing value of feature f.
	missing []uint8
	// defaultBin[f] is the bin that a bundled feature takes on code 0, or
	// -1 for a feature stored alone in its column. first[f] is the code of
	// the first non-default bin of a bundled feature.
	defaultBin []int
	first      []int
}

// maxCodes is the number of distinct codes a column can hold in a byte.
const maxCodes = 256

// binData converts x to bin codes with mapper m and bundles the features
// that allow it.
func binData(x *mat.Dense, m *binMapper, threads int) *binnedData {
	n, p := x.Dims()
	raw := x.RawMatrix()
	featCodes := make([]uint8, n*p)
	rowsParallel(n, threads, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := raw.Data[i*raw.Stride : i*raw.Stride+p]
			codes := featCodes[i*p : (i+1)*p]
			for f, v := range row {
				codes[f] = m.code(f, v)
			}
		}
	})
	return newBinnedData(featCodes, n, p, m)
}

// newBinnedData groups features into columns and stores their codes.
// featCodes holds the bin of row i and feature f at i*p+f.
func newBinnedData(featCodes []uint8, n, p int, m *binMapper) *binnedData {
	d := &binnedData{
		n: n, p: p, mapper: m,
		colOf:      make([]int, p),
		decode:     make([][]uint8, p),
		missing:    make([]uint8, p),
		defaultBin: make([]int, p),
		first:      make([]int, p),
	}
	for f := 0; f < p; f++ {
		d.missing[f] = uint8(m.numBins(f))
	}
	groups := bundleFeatures(featCodes, n, p, m)
	d.cols = len(groups)
	d.offset = make([]int, d.cols+1)

	// Lay out the codes of each column and the decoding of each feature.
	for c, g := range groups {
		if len(g.features) == 1 {
			f := g.features[0]
			d.colOf[f] = c
			d.defaultBin[f] = -1
			nb := m.numBins(f)
			d.decode[f] = make([]uint8, nb+1)
			for b := range d.decode[f] {
				d.decode[f][b] = uint8(b)
			}
			d.offset[c+1] = d.offset[c] + nb + 1
			continue
		}
		next := 1
		for k, f := range g.features {
			d.colOf[f] = c
			d.defaultBin[f] = g.defaults[k]
			d.first[f] = next
			next += m.numBins(f) - 1
		}
		for _, f := range g.features {
			dec := make([]uint8, next)
			for code := range dec {
				dec[code] = uint8(d.defaultBin[f])
			}
			for b, code := 0, d.first[f]; b < m.numBins(f); b++ {
				if b == d.defaultBin[f] {
					continue
				}
				dec[code] = uint8(b)
				code++
			}
			d.decode[f] = dec
		}
		d.offset[c+1] = d.offset[c] + next
	}

	// Fill the columns.
	d.codes = make([]uint8, n*d.cols)
	for i := 0; i < n; i++ {
		src := featCodes[i*p : (i+1)*p]
		dst := d.codes[i*d.cols : (i+1)*d.cols]
		for c, g := range groups {
			if len(g.features) == 1 {
				dst[c] = src[g.features[0]]
				continue
			}
			for _, f := range g.features {
				b := int(src[f])
				def := d.defaultBin[f]
				if b == def {
					continue
				}
				if b > def {
					b--
				}
				dst[c] = uint8(d.first[f] + b)
			}
		}
	}
	return d
}

// featureGroup is the features stored in one column and, for a bundle,
// the default bin of each.
type featureGroup struct {
	features []int
	defaults []int
}

// bundleFeatures assigns the features to columns. A feature without
// missing values may join a bundle when no row has both it and a feature
// already in the bundle off their default bins, and the bundle's codes
// still fit in a byte. Features are placed greedily from the one with the
// most non-default rows down; the others each get a column of their own.
// Columns are ordered by their lowest feature index.
//
// The default bin is the bin of the value 0 when it holds rows, so every
// one-hot column of a categorical variable defaults to "absent" and the
// whole group can share one column, and the most frequent bin otherwise.
func bundleFeatures(featCodes []uint8, n, p int, m *binMapper) []featureGroup {
	type candidate struct {
		f, def  int
		offRows []int32
	}
	var cands []candidate
	var groups []featureGroup
	counts := make([]int, maxCodes)
	for f := 0; f < p; f++ {
		nb := m.numBins(f)
		clear(counts)
		for i := 0; i < n; i++ {
			counts[featCodes[i*p+f]]++
		}
		if counts[nb] > 0 {
			// Missing values need the missing slot of a column of their own.
			groups = append(groups, featureGroup{features: []int{f}})
			continue
		}
		def := int(m.code(f, 0))
		if counts[def] == 0 {
			def = 0
			for b := 1; b < nb; b++ {
				if counts[b] > counts[def] {
					def = b
				}
			}
		}
		if counts[def] == 0 {
			groups = append(groups, featureGroup{features: []int{f}})
			continue
		}
		c := candidate{f: f, def: def}
		for i := 0; i < n; i++ {
			if int(featCodes[i*p+f]) != def {
				c.offRows = append(c.offRows, int32(i))
			}
		}
		cands = append(cands, c)
	}
	slices.SortStableFunc(cands, func(a, b candidate) int { return cmp.Compare(len(b.offRows), len(a.offRows)) })

	type bundle struct {
		group featureGroup
		used  int // codes in use, code 0 included
		rows  []uint64
	}
	var bundles []*bundle
	words := (n + 63) / 64
	for _, c := range cands {
		need := m.numBins(c.f) - 1
		var home *bundle
		for _, b := range bundles {
			if b.used+need > maxCodes || conflicts(b.rows, c.offRows) {
				continue
			}
			home = b
			break
		}
		if home == nil {
			home = &bundle{used: 1, rows: make([]uint64, words)}
			bundles = append(bundles, home)
		}
		home.group.features = append(home.group.features, c.f)
		home.group.defaults = append(home.group.defaults, c.def)
		home.used += need
		for _, r := range c.offRows {
			home.rows[r>>6] |= 1 << (r & 63)
		}
	}
	for _, b := range bundles {
		g := b.group
		if len(g.features) == 1 {
			g.defaults = nil
		}
		groups = append(groups, g)
	}

	// Order the features of a bundle, then the columns, by feature index.
	for k := range groups {
		g := &groups[k]
		if len(g.features) < 2 {
			continue
		}
		idx := make([]int, len(g.features))
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(g.features[a], g.features[b]) })
		fs, ds := make([]int, len(idx)), make([]int, len(idx))
		for i, j := range idx {
			fs[i], ds[i] = g.features[j], g.defaults[j]
		}
		g.features, g.defaults = fs, ds
	}
	slices.SortFunc(groups, func(a, b featureGroup) int { return cmp.Compare(a.features[0], b.features[0]) })
	return groups
}

// conflicts reports whether any of rows is set in the bit set.
func conflicts(set []uint64, rows []int32) bool {
	for _, r := range rows {
		if set[r>>6]&(1<<(r&63)) != 0 {
			return true
		}
	}
	return false
}

// bin returns the bin of feature f in row i.
func (d *binnedData) bin(i, f int) uint8 {
	return d.decode[f][d.codes[i*d.cols+d.colOf[f]]]
}

// slots returns the total number of histogram slots over all columns.
func (d *binnedData) slots() int { return d.offset[d.cols] }

// subset returns the given rows of d as new binned data with the same
// bins and columns, so models fitted on it can be scored on d's rows.
func (d *binnedData) subset(rows []int) *binnedData {
	s := *d
	s.n = len(rows)
	s.codes = make([]uint8, len(rows)*d.cols)
	for k, i := range rows {
		copy(s.codes[k*d.cols:(k+1)*d.cols], d.codes[i*d.cols:(i+1)*d.cols])
	}
	return &s
}

// columns returns the sorted columns that hold the given features, in
// out.
func (d *binnedData) columns(features []int, out []int) []int {
	out = out[:0]
	for _, f := range features {
		out = append(out, d.colOf[f])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// featureHist returns the histogram of feature f, with numBins(f)+1
// slots, from the column histogram hist of a node whose sums are total.
// A feature stored alone returns its slots of hist. A bundled feature is
// written into buf: its non-default bins from its code range, its default
// bin as total minus those, and an empty missing slot.
func (d *binnedData) featureHist(f int, hist []histBin, total histBin, buf []histBin) []histBin {
	c := d.colOf[f]
	col := hist[d.offset[c]:d.offset[c+1]]
	def := d.defaultBin[f]
	if def < 0 {
		return col
	}

	// Copy the non-default bins and take them off the node total.
	nb := int(d.missing[f])
	buf = buf[:nb+1]
	rest := total
	code := d.first[f]
	for b := 0; b < nb; b++ {
		if b == def {
			continue
		}
		hb := col[code]
		code++
		buf[b] = hb
		rest.g -= hb.g
		rest.h -= hb.h
		rest.n -= hb.n
	}

	// What is left belongs to the default bin.
	if rest.n == 0 {
		// Exactly empty, whatever the rounding of the subtraction left.
		rest = histBin{}
	} else if rest.h < 0 {
		rest.h = 0
	}
	buf[def] = rest
	buf[nb] = histBin{}
	return buf
}
