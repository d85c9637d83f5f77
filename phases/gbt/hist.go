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
// shared out between up to threads goroutines; each feature's sums are
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
	parallelFor(len(features), threads, func(lo, hi int) {
		feats := features[lo:hi]
		offset := make([]int, len(feats))
		for k, f := range feats {
			offset[k] = d.offset[f]
			clear(hist[d.offset[f]:d.offset[f+1]])
		}
		add := func(r int) {
			gp := grad[r]
			codes := d.codes[r*d.p : (r+1)*d.p]
			for k, f := range feats {
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
	})
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
