package gbt

// gradPair holds the first and second derivatives of the loss for one row,
// taken with respect to the row's current raw score.
type gradPair struct{ g, h float64 }

// histBin sums the gradients, hessians and row count of the rows in one bin.
type histBin struct {
	g, h float64
	n    int
}

// histBuilder sums gradients into histograms, sharing the columns out
// between goroutines. Each column's sums are taken in row order by one
// goroutine, so the result does not depend on the number of goroutines.
//
// Goroutines sum into their own buffers and copy their slots out at the
// end: two goroutines that update neighbouring columns of one buffer
// would write the same cache line on every row.
type histBuilder struct {
	data    *binnedData
	threads int
	local   [][]histBin // one buffer per goroutine, made on first use
}

func newHistBuilder(d *binnedData, threads int) *histBuilder {
	return &histBuilder{data: d, threads: threads}
}

// build fills the slots of the listed columns in hist with the sums of
// grad over rows. rows nil means every row in order.
func (hb *histBuilder) build(grad []gradPair, rows []int32, cols []int, hist []histBin) {
	d := hb.data
	count := d.n
	if rows != nil {
		count = len(rows)
	}
	threads := hb.threads
	if count*len(cols) < minParallelWork {
		threads = 1
	}
	if threads > 1 && hb.local == nil {
		hb.local = make([][]histBin, threads)
		for i := range hb.local {
			hb.local[i] = make([]histBin, d.slots())
		}
	}
	// With every column listed, a chunk of columns is a range.
	all := len(cols) == d.cols
	parallelChunks(len(cols), threads, func(chunk, lo, hi int) {
		buf := hist
		if threads > 1 {
			buf = hb.local[chunk]
		}
		for _, c := range cols[lo:hi] {
			clear(buf[d.offset[c]:d.offset[c+1]])
		}
		if all {
			histRange(d, grad, rows, lo, hi, buf)
		} else {
			histList(d, grad, rows, cols[lo:hi], buf)
		}
		if threads > 1 {
			for _, c := range cols[lo:hi] {
				copy(hist[d.offset[c]:d.offset[c+1]], buf[d.offset[c]:d.offset[c+1]])
			}
		}
	})
}

// histRange adds grad over rows to hist for columns lo..hi-1.
func histRange(d *binnedData, grad []gradPair, rows []int32, lo, hi int, hist []histBin) {
	offset := d.offset[lo:hi]
	stride := d.cols
	add := func(r int) {
		gp := grad[r]
		codes := d.codes[r*stride+lo : r*stride+hi]
		offset := offset[:len(codes)]
		for k, c := range codes {
			b := &hist[offset[k]+int(c)]
			b.g += gp.g
			b.h += gp.h
			b.n++
		}
	}
	if rows == nil {
		for r := 0; r < d.n; r++ {
			add(r)
		}
		return
	}
	for _, r := range rows {
		add(int(r))
	}
}

// histList adds grad over rows to hist for the listed columns.
func histList(d *binnedData, grad []gradPair, rows []int32, cols []int, hist []histBin) {
	offset := make([]int, len(cols))
	for k, c := range cols {
		offset[k] = d.offset[c]
	}
	stride := d.cols
	add := func(r int) {
		gp := grad[r]
		codes := d.codes[r*stride : (r+1)*stride]
		for k, c := range cols {
			b := &hist[offset[k]+int(codes[c])]
			b.g += gp.g
			b.h += gp.h
			b.n++
		}
	}
	if rows == nil {
		for r := 0; r < d.n; r++ {
			add(r)
		}
		return
	}
	for _, r := range rows {
		add(int(r))
	}
}

// subtractHist sets big to big - small on the slots of the listed columns.
// With big holding a parent's sums and small one child's, big then holds
// the other child's sums without a pass over its rows.
func subtractHist(d *binnedData, cols []int, big, small []histBin) {
	for _, c := range cols {
		for s := d.offset[c]; s < d.offset[c+1]; s++ {
			big[s].g -= small[s].g
			big[s].h -= small[s].h
			big[s].n -= small[s].n
		}
	}
}
