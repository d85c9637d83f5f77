package survival

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// CIndex returns Harrell's concordance index of risk scores against
// observed times (months) and events (non-zero means churned). A higher
// risk predicts a shorter survival.
//
// A pair (i, j) with T_i < T_j is comparable when E_i = 1. With T_i = T_j
// the pair is comparable when exactly one is an event, and the event counts
// as the earlier one. Two events, or two censored customers, at the same
// time are not comparable. A comparable pair is concordant when the earlier
// customer has the higher risk and counts 1/2 when the risks are equal:
//
//	C = (concordant + ties/2) / comparable
//
// ok is false, and c is 0, when no pair is comparable or any input is NaN
// or infinite. It panics when the slices differ in length. The cost is
// O(n log n): rows are visited by descending time while a Fenwick tree
// counts the risks of the customers known to survive longer.
func CIndex(time, event, risk []float64) (c float64, ok bool) {
	n := len(time)
	if len(event) != n || len(risk) != n {
		panic(fmt.Sprintf("survival: CIndex lengths differ: %d times, %d events, %d risks", n, len(event), len(risk)))
	}
	for i := 0; i < n; i++ {
		if !isFinite(time[i]) || !isFinite(event[i]) || !isFinite(risk[i]) {
			return 0, false
		}
	}

	// Rank the risks densely (1-based) for the Fenwick tree.
	sorted := slices.Clone(risk)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	rank := make([]int, n)
	for i, r := range risk {
		rank[i], _ = slices.BinarySearch(sorted, r)
		rank[i]++
	}
	tree := newFenwick(len(sorted))

	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return time[order[a]] > time[order[b]] })

	// Before a time group is queried the tree holds everyone with a longer
	// time. The group's censored customers are added first, because an
	// event is compared with censored customers at its own time, and its
	// events last, because tied events are not compared.
	var concordant, tied, comparable float64
	for start := 0; start < n; {
		end := start
		for end < n && time[order[end]] == time[order[start]] {
			end++
		}
		group := order[start:end]
		for _, i := range group {
			if event[i] == 0 {
				tree.add(rank[i], 1)
			}
		}
		for _, i := range group {
			if event[i] == 0 {
				continue
			}
			lower := float64(tree.sum(rank[i] - 1))
			equal := float64(tree.sum(rank[i]) - tree.sum(rank[i]-1))
			concordant += lower
			tied += equal
			comparable += float64(tree.total)
		}
		for _, i := range group {
			if event[i] != 0 {
				tree.add(rank[i], 1)
			}
		}
		start = end
	}
	if comparable == 0 {
		return 0, false
	}
	return (concordant + tied/2) / comparable, true
}

// fenwick is a binary indexed tree of counts over ranks 1..n.
type fenwick struct {
	counts []int
	total  int
}

func newFenwick(n int) *fenwick { return &fenwick{counts: make([]int, n+1)} }

func (f *fenwick) add(rank, delta int) {
	f.total += delta
	for ; rank < len(f.counts); rank += rank & -rank {
		f.counts[rank] += delta
	}
}

// sum returns the count of ranks 1..rank.
func (f *fenwick) sum(rank int) int {
	var s int
	for ; rank > 0; rank -= rank & -rank {
		s += f.counts[rank]
	}
	return s
}

// Interval is a closed interval [lower, upper], encoded in JSON as an array.
type Interval [2]float64

// BootstrapCIndex returns the 95% percentile bootstrap interval of the
// C-index: the 2.5th and 97.5th percentiles (linear interpolation between
// order statistics) of the index over resamples of the rows drawn with
// replacement. The generator is PCG seeded with (seed, seed), so a seed
// always gives the same interval. Resamples without a comparable pair are
// skipped and counted in skipped; ok is false when fewer than two
// resamples are defined. It returns ctx.Err() when the context ends.
func BootstrapCIndex(ctx context.Context, time, event, risk []float64, resamples int, seed uint64) (ci Interval, skipped int, ok bool, err error) {
	n := len(time)
	if len(event) != n || len(risk) != n {
		panic(fmt.Sprintf("survival: BootstrapCIndex lengths differ: %d times, %d events, %d risks",
			n, len(event), len(risk)))
	}
	if n == 0 {
		return Interval{}, resamples, false, nil
	}
	rng := rand.New(rand.NewPCG(seed, seed))
	bt, be, br := make([]float64, n), make([]float64, n), make([]float64, n)
	values := make([]float64, 0, resamples)
	for r := 0; r < resamples; r++ {
		if r%20 == 0 {
			if err := ctx.Err(); err != nil {
				return Interval{}, 0, false, err
			}
		}
		for i := 0; i < n; i++ {
			k := rng.IntN(n)
			bt[i], be[i], br[i] = time[k], event[k], risk[k]
		}
		c, defined := CIndex(bt, be, br)
		if !defined {
			skipped++
			continue
		}
		values = append(values, c)
	}
	if len(values) < 2 {
		return Interval{}, skipped, false, nil
	}
	slices.Sort(values)
	return Interval{quantileSorted(values, 0.025), quantileSorted(values, 0.975)}, skipped, true, nil
}

// quantileSorted returns the q-quantile of sorted values by linear
// interpolation between order statistics at position q (n-1).
func quantileSorted(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	frac := pos - float64(lo)
	return sorted[lo] + frac*(sorted[lo+1]-sorted[lo])
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
