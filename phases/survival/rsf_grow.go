package survival

import (
	"math"
	"math/rand/v2"
)

// rsfData is the training data of a forest, binned by column.
type rsfData struct {
	n, p  int
	bins  columnBins
	codes [][]uint8 // codes[j][i]: bin of row i for feature j
	// time is each row's index into the distinct observed times, and
	// event its churn flag (0 or 1).
	time  []int32
	event []float64
	// eventIdx maps a time index to its rank among the event times, or -1
	// when no training customer churned then.
	eventIdx        []int32
	nTimes, nEvents int
}

// rsfGrower grows the trees of one goroutine, reusing its buffers.
type rsfGrower struct {
	d    *rsfData
	cfg  RSFConfig
	mtry int

	weight   []float64 // bootstrap count of each row
	rows     []int32   // in-bag rows, grouped by node
	scratch  []int32
	features []int // a permutation of the features, for drawing mtry

	// Per-time sums of the node being split, indexed by time.
	exits, deaths []float64
	cumHaz, linV  []float64 // A(t) and B(t)
	quadK, cumK   []float64 // k(t) and K(t)
	sumKW, sumW   fenwickF
	binWeight     []float64
	binStart      []int
	binNext       []int32
	byBin         []int32
}

func newRSFGrower(d *rsfData, cfg RSFConfig, mtry int) *rsfGrower {
	g := &rsfGrower{
		d: d, cfg: cfg, mtry: mtry,
		weight:    make([]float64, d.n),
		scratch:   make([]int32, d.n),
		features:  make([]int, d.p),
		exits:     make([]float64, d.nTimes),
		deaths:    make([]float64, d.nTimes),
		cumHaz:    make([]float64, d.nTimes),
		linV:      make([]float64, d.nTimes),
		quadK:     make([]float64, d.nTimes),
		cumK:      make([]float64, d.nTimes),
		sumKW:     newFenwickF(d.nTimes),
		sumW:      newFenwickF(d.nTimes),
		binWeight: make([]float64, 256),
		binStart:  make([]int, 257),
		binNext:   make([]int32, 256),
		byBin:     make([]int32, d.n),
	}
	return g
}

// rsfSplit is the best split of a node: rows with code <= bin on feature
// go left.
type rsfSplit struct {
	feature int
	bin     int
	stat    float64
}

// grow grows one tree on a bootstrap sample drawn with rng.
func (g *rsfGrower) grow(rng *rand.Rand) rsfTree {
	d := g.d
	// The feature draws of bestSplit start from the identity permutation,
	// so the tree depends only on rng and not on the trees grown before.
	for j := range g.features {
		g.features[j] = j
	}
	clear(g.weight)
	for range d.n {
		g.weight[rng.IntN(d.n)]++
	}
	g.rows = g.rows[:0]
	for i, w := range g.weight {
		if w > 0 {
			g.rows = append(g.rows, int32(i))
		}
	}

	var t rsfTree
	type pending struct {
		node       int32
		start, end int
	}
	t.nodes = append(t.nodes, rsfNode{left: -1, right: -1})
	stack := []pending{{0, 0, len(g.rows)}}
	for len(stack) > 0 {
		nd := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		rows := g.rows[nd.start:nd.end]
		s, ok := g.bestSplit(rows, rng)
		if !ok {
			t.nodes[nd.node].leaf = int32(len(t.leaves))
			t.leaves = append(t.leaves, g.leaf(rows))
			continue
		}
		nl := g.partition(rows, s)
		left, right := int32(len(t.nodes)), int32(len(t.nodes)+1)
		t.nodes = append(t.nodes, rsfNode{left: -1, right: -1}, rsfNode{left: -1, right: -1})
		t.nodes[nd.node] = rsfNode{
			feature:   int32(s.feature),
			threshold: d.bins.edges[s.feature][s.bin],
			left:      left,
			right:     right,
		}
		stack = append(stack, pending{right, nd.start + nl, nd.end}, pending{left, nd.start, nd.start + nl})
	}
	return t
}

// bestSplit returns the split of rows with the largest standardised
// log-rank statistic over mtry features drawn with rng. ok is false when
// the node is too small, has no event, or no split leaves MinSamplesLeaf
// on both sides with a positive statistic.
//
// For a left group L the statistic is |U| / sqrt(V) with
//
//	U = sum_t [d_L(t) - Y_L(t) d(t)/Y(t)]
//	V = sum_t (Y_L(t)/Y(t)) (1 - Y_L(t)/Y(t)) d(t) (Y(t) - d(t)) / (Y(t) - 1)
//
// over the node's event times t, where Y counts the samples at risk and d
// the events. This is the standardised log-rank statistic.
//
// Both sums grow one sample at a time as the threshold moves up. U gains
// w (e - A(tau)), with A the node's Nelson-Aalen hazard, and the linear
// part of V gains w B(tau). Two Fenwick trees over time keep the part
// quadratic in Y_L, so a feature costs O(m log T) for m rows and T times.
func (g *rsfGrower) bestSplit(rows []int32, rng *rand.Rand) (rsfSplit, bool) {
	d := g.d
	var total, events float64
	for _, r := range rows {
		total += g.weight[r]
		events += g.weight[r] * d.event[r]
	}
	if total < float64(g.cfg.MinSamplesSplit) || events == 0 {
		return rsfSplit{}, false
	}
	g.nodeHazards(rows)

	best := rsfSplit{feature: -1}
	minLeaf := float64(g.cfg.MinSamplesLeaf)
	for k := 0; k < g.mtry; k++ {
		// Partial Fisher-Yates shuffle: features[k] is the k-th draw.
		swap := k + rng.IntN(d.p-k)
		g.features[k], g.features[swap] = g.features[swap], g.features[k]
		j := g.features[k]

		bins, ok := g.sortByBin(rows, j)
		if !ok {
			continue
		}
		g.sumKW.reset()
		g.sumW.reset()
		var u, linear, quad, left float64
		pos := 0
		for b := 0; b < bins-1; b++ {
			for ; pos < g.binStart[b+1]; pos++ {
				r := g.byBin[pos]
				w, tau := g.weight[r], int(d.time[r])
				u += w * (d.event[r] - g.cumHaz[tau])
				linear += w * g.linV[tau]
				q := g.sumKW.prefix(tau) + g.cumK[tau]*(g.sumW.total-g.sumW.prefix(tau))
				quad += 2*w*q + w*w*g.cumK[tau]
				g.sumKW.add(tau, w*g.cumK[tau])
				g.sumW.add(tau, w)
				left += w
			}
			if g.binWeight[b] == 0 || left < minLeaf {
				continue
			}
			if total-left < minLeaf {
				break
			}
			v := linear - quad
			if !(v > 1e-12) {
				continue
			}
			if stat := math.Abs(u) / math.Sqrt(v); stat > best.stat {
				best = rsfSplit{feature: j, bin: b, stat: stat}
			}
		}
	}
	return best, best.feature >= 0
}

// nodeHazards fills the per-time arrays of the node: A(t), the
// Nelson-Aalen hazard sum_{s<=t} d(s)/Y(s); c(t) = d(t)(Y(t)-d(t))/(Y(t)-1);
// B(t) = sum_{s<=t} c(s)/Y(s); k(t) = c(t)/Y(t)^2 and K(t) = sum_{s<=t} k(s).
func (g *rsfGrower) nodeHazards(rows []int32) {
	d := g.d
	clear(g.exits)
	clear(g.deaths)
	for _, r := range rows {
		w := g.weight[r]
		g.exits[d.time[r]] += w
		g.deaths[d.time[r]] += w * d.event[r]
	}
	var atRisk float64
	for _, w := range g.exits {
		atRisk += w
	}
	var a, b, kk float64
	for t := range g.exits {
		y, dt := atRisk, g.deaths[t]
		g.quadK[t] = 0
		if dt > 0 {
			a += dt / y
			if y > 1 {
				c := dt * (y - dt) / (y - 1)
				b += c / y
				g.quadK[t] = c / (y * y)
				kk += g.quadK[t]
			}
		}
		g.cumHaz[t], g.linV[t], g.cumK[t] = a, b, kk
		atRisk -= g.exits[t]
	}
}

// sortByBin orders rows by their bin of feature j into byBin, with bin b
// at byBin[binStart[b]:binStart[b+1]] and its bootstrap weight in
// binWeight[b]. It returns the number of bins, and false when the rows
// all share one bin.
func (g *rsfGrower) sortByBin(rows []int32, j int) (int, bool) {
	codes := g.d.codes[j]
	bins := len(g.d.bins.edges[j]) + 1
	count := g.binStart[:bins+1]
	clear(count)
	weight := g.binWeight[:bins]
	clear(weight)
	for _, r := range rows {
		count[codes[r]+1]++
		weight[codes[r]] += g.weight[r]
	}
	used := 0
	for b := 0; b < bins; b++ {
		if count[b+1] > 0 {
			used++
		}
		count[b+1] += count[b]
	}
	if used < 2 {
		return bins, false
	}

	// count[b] is now the start of bin b. A copy advances while placing.
	next := g.binNext[:bins]
	for b := range next {
		next[b] = int32(count[b])
	}
	for _, r := range rows {
		c := codes[r]
		g.byBin[next[c]] = r
		next[c]++
	}
	return bins, true
}

// partition reorders rows so that those going left come first, keeping
// their order, and returns how many go left.
func (g *rsfGrower) partition(rows []int32, s rsfSplit) int {
	codes := g.d.codes[s.feature]
	bin := uint8(s.bin)
	nl, nr := 0, 0
	for _, r := range rows {
		if codes[r] <= bin {
			rows[nl] = r
			nl++
		} else {
			g.scratch[nr] = r
			nr++
		}
	}
	copy(rows[nl:], g.scratch[:nr])
	return nl
}

// leaf returns the Nelson-Aalen cumulative hazard of the rows,
//
//	H(t) = sum_{s <= t} d(s) / Y(s),
//
// as steps at the training event times where the leaf has events, and its
// sum over all training event times.
func (g *rsfGrower) leaf(rows []int32) rsfLeaf {
	d := g.d
	clear(g.exits)
	clear(g.deaths)
	var atRisk float64
	for _, r := range rows {
		w := g.weight[r]
		g.exits[d.time[r]] += w
		g.deaths[d.time[r]] += w * d.event[r]
		atRisk += w
	}
	var l rsfLeaf
	var h float64
	for t := range g.exits {
		if dt := g.deaths[t]; dt > 0 {
			h += dt / atRisk
			l.times = append(l.times, d.eventIdx[t])
			l.chf = append(l.chf, h)
		}
		atRisk -= g.exits[t]
	}
	// Each step holds until the next one, or to the last event time.
	for k, at := range l.times {
		end := int32(d.nEvents)
		if k+1 < len(l.times) {
			end = l.times[k+1]
		}
		l.risk += l.chf[k] * float64(end-at)
	}
	return l
}

// fenwickF is a binary indexed tree of float sums over indices 0..n-1.
type fenwickF struct {
	sums  []float64
	total float64
}

func newFenwickF(n int) fenwickF { return fenwickF{sums: make([]float64, n+1)} }

func (f *fenwickF) reset() {
	clear(f.sums)
	f.total = 0
}

func (f *fenwickF) add(i int, v float64) {
	f.total += v
	for k := i + 1; k < len(f.sums); k += k & -k {
		f.sums[k] += v
	}
}

// prefix returns the sum over indices 0..i.
func (f *fenwickF) prefix(i int) float64 {
	var s float64
	for k := i + 1; k > 0; k -= k & -k {
		s += f.sums[k]
	}
	return s
}
