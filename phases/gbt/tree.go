package gbt

import "math"

// node is one node of a fitted tree, stored in a flat slice with the root
// at index 0. A leaf has left == -1.
//
// An internal node sends row x to the left child when x[feature] <=
// threshold, and a missing value (NaN) to the side given by defaultLeft.
type node struct {
	feature     int32
	left, right int32
	defaultLeft bool
	// bin is the same test on bin codes: code <= bin goes left. Only trees
	// fitted in this process have it, because the JSON form omits it.
	bin       uint8
	threshold float64
	// value is the amount a leaf adds to the raw score, the learning rate
	// times the leaf weight -G/(H+lambda).
	value float64
	// gain is the split gain of an internal node (see findSplit), which
	// Importance sums per feature.
	gain float64
}

// tree is one regression tree of the ensemble.
type tree struct{ nodes []node }

// predict returns the leaf value for one row of raw features.
func (t *tree) predict(row []float64) float64 {
	nodes := t.nodes
	i := int32(0)
	for {
		nd := &nodes[i]
		if nd.left < 0 {
			return nd.value
		}
		x := row[nd.feature]
		next := nd.right
		if x <= nd.threshold {
			next = nd.left
		}
		if x != x || x > math.MaxFloat64 {
			next = nd.special(x)
		}
		i = next
	}
}

// special returns the child for a NaN or +Inf value. NaN follows the
// default side. +Inf lies in the last bin, which has no upper edge, so it
// goes left only where every non-missing value does.
func (nd *node) special(x float64) int32 {
	left := nd.defaultLeft
	if x == x {
		left = nd.threshold == math.MaxFloat64
	}
	if left {
		return nd.left
	}
	return nd.right
}

// predictBinned returns the leaf value for row i of binned data.
func (t *tree) predictBinned(d *binnedData, i int) float64 {
	nodes := t.nodes
	k := int32(0)
	for {
		nd := &nodes[k]
		if nd.left < 0 {
			return nd.value
		}
		f := int(nd.feature)
		c := d.bin(i, f)
		var left bool
		if c == d.missing[f] {
			left = nd.defaultLeft
		} else {
			left = c <= nd.bin
		}
		if left {
			k = nd.left
		} else {
			k = nd.right
		}
	}
}
