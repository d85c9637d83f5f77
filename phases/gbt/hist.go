package gbt

// gradPair holds the first and second derivatives of the loss for one row,
// taken with respect to the row's current raw score.
type gradPair struct{ g, h float64 }

// histBin sums the gradients, hessians and row count of the rows in one bin.
type histBin struct {
	g, h float64
	n    int
}

// minParallelWork is the number of row-feature updates below which a
// histogram is built by one goroutine, because starting more costs about
// as much as the work itself.
const minParallelWork = 16384

// buildHist fills the slots of the listed features in hist with the sums of
// grad over rows. rows nil means every row in order. The features are
// shared out between up to threads goroutines. Each feature's sums are
// taken in row order by one goroutine, so the result does not depend on
// threads.
func buildHist(d *binnedData, grad []gradPair, rows []int32, features []int, hist []histBin, threads int) {
	count := d.n
	if rows != nil {
		count = len(rows)
	}
	if count*len(features) < minParallelWork {
		threads = 1
	}
	all := len(features) == d.p
	parallelFor(len(features), threads, func(lo, hi int) {
		for _, f := range features[lo:hi] {
			clear(hist[d.offset[f]:d.offset[f+1]])
		}
		if all {
			// features is 0..p-1, so the chunk is the column range [lo, hi).
			histRange(d, grad, rows, lo, hi, hist)
			return
		}
		histList(d, grad, rows, features[lo:hi], hist)
	})
}

// histRange adds grad over rows to hist for features lo..hi-1.
func histRange(d *binnedData, grad []gradPair, rows []int32, lo, hi int, hist []histBin) {
	offset := d.offset[lo:hi]
	p := d.p
	add := func(r int) {
		gp := grad[r]
		codes := d.codes[r*p+lo : r*p+hi]
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

// histList adds grad over rows to hist for the listed features.
func histList(d *binnedData, grad []gradPair, rows []int32, features []int, hist []histBin) {
	offset := make([]int, len(features))
	for k, f := range features {
		offset[k] = d.offset[f]
	}
	p := d.p
	add := func(r int) {
		gp := grad[r]
		codes := d.codes[r*p : (r+1)*p]
		for k, f := range features {
			b := &hist[offset[k]+int(codes[f])]
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

// subtractHist sets big to big - small on the slots of the listed features.
// With big holding a parent's sums and small one child's, big then holds
// the other child's sums without a pass over its rows.
func subtractHist(d *binnedData, features []int, big, small []histBin) {
	for _, f := range features {
		for s := d.offset[f]; s < d.offset[f+1]; s++ {
			big[s].g -= small[s].g
			big[s].h -= small[s].h
			big[s].n -= small[s].n
		}
	}
}
