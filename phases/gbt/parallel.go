package gbt

import "sync"

// Work sizes below which a loop stays on the calling goroutine, because
// handing work to a goroutine on an idle CPU costs about as much as the
// work. Tests lower them to run the parallel paths on small data.
//
// NOTE: the sizes are estimates from one 2-vCPU virtual machine, where a
// goroutine started on the idle CPU began about 0.1 ms later.
var (
	// minParallelWork counts the row-feature updates of one histogram.
	minParallelWork = 1 << 18
	// minParallelRows counts the rows of a per-row loop, such as the
	// gradient update.
	minParallelRows = 8192
	// minParallelPredict counts the row-tree pairs of one Predict call.
	minParallelPredict = 1 << 19
)

// parallelChunks splits [0, n) into at most threads contiguous chunks and
// runs fn(chunk, lo, hi) on each in its own goroutine, the last chunk on
// the calling one. It returns when all are done. Callers must make the
// result independent of how the range is split.
func parallelChunks(n, threads int, fn func(chunk, lo, hi int)) {
	threads = min(threads, n)
	if threads <= 1 {
		fn(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for c := 0; c < threads-1; c++ {
		wg.Go(func() { fn(c, c*n/threads, (c+1)*n/threads) })
	}
	fn(threads-1, (threads-1)*n/threads, n)
	wg.Wait()
}

// parallelFor is parallelChunks for functions that need no chunk index.
func parallelFor(n, threads int, fn func(lo, hi int)) {
	parallelChunks(n, threads, func(_, lo, hi int) { fn(lo, hi) })
}

// rowsParallel runs fn over [0, n) split between goroutines when n is
// large enough to pay for them.
func rowsParallel(n, threads int, fn func(lo, hi int)) {
	if n < minParallelRows {
		threads = 1
	}
	parallelFor(n, threads, fn)
}
