package gbt

import "fmt"

// split is a candidate split of a node. Rows with bin code <= bin on
// feature go left, and missing values go left when defaultLeft is set.
type split struct {
	feature     int
	bin         int
	defaultLeft bool
	gain        float64
	// Sums over the rows that go left.
	g, h float64
	n    int
}

// growNode is a node while its tree grows. It owns rows[start:end] of the
// grower and, while it may still be split, the histogram of those rows.
type growNode struct {
	id         int32
	start, end int
	depth      int
	g, h       float64
	hist       []histBin
	best       split
}

func (n *growNode) count() int { return n.end - n.start }

// leafRange is a finished leaf and the sampled rows that reach it.
type leafRange struct {
	id         int32
	start, end int
}

// grower grows the trees of one fit. It keeps its buffers between trees.
type grower struct {
	p     Params
	data  *binnedData
	grad  []gradPair
	hists *histBuilder

	// rows lists the sampled rows of the current tree, grouped by node.
	rows    []int32
	allRows bool // rows is 0..n-1 in order
	scratch []int32
	// features lists the features drawn for the current tree, and cols
	// the columns that hold them.
	features []int
	cols     []int
	// featBuf holds the histogram of one bundled feature in findSplit.
	featBuf []histBin
	// free holds histogram buffers for reuse.
	free   [][]histBin
	leaves []leafRange
}

func newGrower(p Params, d *binnedData, grad []gradPair) *grower {
	return &grower{
		p:       p,
		data:    d,
		grad:    grad,
		hists:   newHistBuilder(d, p.threads()),
		scratch: make([]int32, d.n),
		featBuf: make([]histBin, MaxBinsLimit+1),
	}
}

func (gr *grower) allocHist() []histBin {
	if k := len(gr.free); k > 0 {
		h := gr.free[k-1]
		gr.free = gr.free[:k-1]
		return h
	}
	return make([]histBin, gr.data.slots())
}

func (gr *grower) releaseHist(n *growNode) {
	if n.hist != nil {
		gr.free = append(gr.free, n.hist)
		n.hist = nil
	}
}

// leafValue returns the shrunk leaf output lr * -G/(H+lambda), or 0 when
// the denominator is not positive.
func (gr *grower) leafValue(g, h float64) float64 {
	den := h + gr.p.Lambda
	if !(den > 0) {
		return 0
	}
	return gr.p.LearningRate * (-g / den)
}

// splittable reports whether a node may still be split under the depth
// and leaf-size limits. findSplit applies the hessian limit.
func (gr *grower) splittable(n *growNode) bool {
	if gr.p.MaxDepth > 0 && n.depth >= gr.p.MaxDepth {
		return false
	}
	return n.count() >= 2*gr.p.MinSamplesLeaf
}

// grow fits one tree to the gradients of gr.rows on gr.features, and
// records in gr.leaves which sampled rows reach each leaf.
//
// Depth-wise growth (MaxLeaves 0) splits every node whose best split has a
// positive gain, so the order of the work list does not matter and a stack
// keeps few histograms alive. Leaf-wise growth splits the pending node with
// the largest gain until the tree has MaxLeaves leaves.
func (gr *grower) grow() *tree {
	t := &tree{}
	gr.leaves = gr.leaves[:0]
	var g, h float64
	for _, r := range gr.rows {
		g += gr.grad[r].g
		h += gr.grad[r].h
	}
	root := &growNode{start: 0, end: len(gr.rows), g: g, h: h}
	root.id = gr.addLeaf(t, root)
	if !gr.splittable(root) {
		gr.finishLeaf(root)
		return t
	}
	root.hist = gr.allocHist()
	rows := gr.rows
	if gr.allRows {
		rows = nil
	}
	gr.hists.build(gr.grad, rows, gr.cols, root.hist)

	var pending []*growNode
	pending = gr.enqueue(pending, root)
	leaves := 1
	leafWise := gr.p.MaxLeaves > 0
	for len(pending) > 0 {
		if leafWise && leaves >= gr.p.MaxLeaves {
			for _, n := range pending {
				gr.releaseHist(n)
				gr.finishLeaf(n)
			}
			break
		}
		k := len(pending) - 1
		if leafWise {
			k = bestPending(pending)
		}
		n := pending[k]
		pending = append(pending[:k], pending[k+1:]...)

		left, right := gr.split(t, n)
		leaves++
		gr.childHists(n, left, right)
		pending = gr.enqueue(pending, left)
		pending = gr.enqueue(pending, right)
	}
	return t
}

// bestPending returns the index of the pending node with the largest gain,
// the earliest created one on ties.
func bestPending(pending []*growNode) int {
	k := 0
	for i, n := range pending {
		b := pending[k]
		if n.best.gain > b.best.gain || n.best.gain == b.best.gain && n.id < b.id {
			k = i
		}
	}
	return k
}

// enqueue finds the best split of n if it has a histogram, and appends n to
// pending when that split exists. Otherwise n becomes a leaf.
func (gr *grower) enqueue(pending []*growNode, n *growNode) []*growNode {
	if n.hist != nil && gr.splittable(n) && gr.findSplit(n) {
		return append(pending, n)
	}
	gr.releaseHist(n)
	gr.finishLeaf(n)
	return pending
}

func (gr *grower) addLeaf(t *tree, n *growNode) int32 {
	t.nodes = append(t.nodes, node{feature: -1, left: -1, right: -1, value: gr.leafValue(n.g, n.h)})
	return int32(len(t.nodes) - 1)
}

func (gr *grower) finishLeaf(n *growNode) {
	gr.leaves = append(gr.leaves, leafRange{id: n.id, start: n.start, end: n.end})
}

// split turns n into an internal node with its best split, partitions its
// rows and returns the two children, which do not have histograms yet.
func (gr *grower) split(t *tree, n *growNode) (left, right *growNode) {
	s := n.best
	nl := gr.partition(n, s)
	if nl != s.n {
		panic(fmt.Sprintf("gbt: internal error: split sends %d rows left, histogram counted %d", nl, s.n))
	}
	left = &growNode{start: n.start, end: n.start + nl, depth: n.depth + 1, g: s.g, h: s.h}
	right = &growNode{start: n.start + nl, end: n.end, depth: n.depth + 1, g: n.g - s.g, h: n.h - s.h}
	left.id = gr.addLeaf(t, left)
	right.id = gr.addLeaf(t, right)
	nd := &t.nodes[n.id]
	*nd = node{
		feature:     int32(s.feature),
		left:        left.id,
		right:       right.id,
		defaultLeft: s.defaultLeft,
		bin:         uint8(s.bin),
		threshold:   gr.data.mapper.threshold(s.feature, s.bin),
		gain:        s.gain,
	}
	return left, right
}

// partition reorders rows[n.start:n.end] so the rows going left come
// first, keeping the order within each side, and returns their number.
func (gr *grower) partition(n *growNode, s split) int {
	d := gr.data
	f := s.feature
	missing := d.missing[f]
	bin := uint8(s.bin)
	// Look up the feature's bin from its column's code directly.
	decode, col, stride := d.decode[f], d.colOf[f], d.cols
	rows := gr.rows[n.start:n.end]
	nl, nr := 0, 0
	for _, r := range rows {
		c := decode[d.codes[int(r)*stride+col]]
		left := c <= bin
		if c == missing {
			left = s.defaultLeft
		}
		if left {
			rows[nl] = r
			nl++
		} else {
			gr.scratch[nr] = r
			nr++
		}
	}
	copy(rows[nl:], gr.scratch[:nr])
	return nl
}

// childHists gives each child that may be split the histogram of its rows.
// Only the child with fewer rows is summed over its rows, and the other
// one gets the parent's histogram minus that.
func (gr *grower) childHists(parent, left, right *growNode) {
	small, large := left, right
	if right.count() < left.count() {
		small, large = right, left
	}
	needSmall, needLarge := gr.splittable(small), gr.splittable(large)
	switch {
	case needLarge:
		small.hist = gr.allocHist()
		gr.buildNode(small)
		large.hist = parent.hist
		parent.hist = nil
		subtractHist(gr.data, gr.cols, large.hist, small.hist)
	case needSmall:
		small.hist = parent.hist
		parent.hist = nil
		gr.buildNode(small)
	default:
		gr.releaseHist(parent)
	}
}

func (gr *grower) buildNode(n *growNode) {
	gr.hists.build(gr.grad, gr.rows[n.start:n.end], gr.cols, n.hist)
}

// findSplit stores in n.best the split with the largest gain
//
//	gain = G_L^2/(H_L+lambda) + G_R^2/(H_R+lambda) - G^2/(H+lambda)
//
// over the drawn features, where G and H sum the gradients and hessians of
// a side. Both children must keep MinSamplesLeaf rows and MinHessianLeaf
// hessian. Each threshold is tried with the missing values on either side
// when the node has any. It reports whether a split with a positive gain
// exists. Ties keep the lowest feature, then the lowest threshold.
func (gr *grower) findSplit(n *growNode) bool {
	lambda := gr.p.Lambda
	minN, minH := gr.p.MinSamplesLeaf, gr.p.MinHessianLeaf
	total := n.count()
	parentScore := n.g * n.g / (n.h + lambda)
	best := split{feature: -1}

	// try scores one candidate with left sums (g, h, cnt).
	try := func(f, b int, defaultLeft bool, g, h float64, cnt int) {
		rh := n.h - h
		if cnt < minN || total-cnt < minN || h < minH || rh < minH {
			return
		}
		rg := n.g - g
		sides := g*g/(h+lambda) + rg*rg/(rh+lambda)
		gain := sides - parentScore
		// Rounding can leave a tiny positive gain where the exact one is 0.
		if gain <= 1e-12*sides || gain <= best.gain {
			return
		}
		best = split{feature: f, bin: b, defaultLeft: defaultLeft, gain: gain, g: g, h: h, n: cnt}
	}

	d := gr.data
	sums := histBin{g: n.g, h: n.h, n: total}
	for _, f := range gr.features {
		hs := d.featureHist(f, n.hist, sums, gr.featBuf)
		last := len(hs) - 1
		miss := hs[last]
		var g, h float64
		cnt := 0
		for b := 0; b < last; b++ {
			if hs[b].n == 0 {
				continue
			}
			g += hs[b].g
			h += hs[b].h
			cnt += hs[b].n
			if total-cnt < minN {
				break
			}
			if miss.n == 0 {
				// The node has no missing values to learn from, so NaN at
				// prediction time goes to the side with more hessian.
				try(f, b, h >= n.h-h, g, h, cnt)
				continue
			}
			try(f, b, false, g, h, cnt)
			try(f, b, true, g+miss.g, h+miss.h, cnt+miss.n)
		}
	}
	n.best = best
	return best.feature >= 0
}
