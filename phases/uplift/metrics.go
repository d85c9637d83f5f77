package uplift

import (
	"cmp"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// tieGroups returns the row indices sorted by score, highest first, and the
// end offset in that order of each run of equal scores. Metrics treat a run
// as one group whose members each contribute the group mean, so the order of
// tied rows never changes a result.
func tieGroups(score []float64) (order, ends []int) {
	order = make([]int, len(score))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(score[b], score[a]) })
	for k := 1; k <= len(order); k++ {
		if k == len(order) || score[order[k]] != score[order[k-1]] {
			ends = append(ends, k)
		}
	}
	return order, ends
}

// AUUC returns the area under the uplift curve of the ranking by score,
// normalised against the truth:
//
//	G(k)  = sum of value over the k highest scores, k = 0..n
//	area  = trapezoid area under G
//	AUUC  = (area - random) / (oracle - random)
//
// where value is the true uplift times CLV in dollars, random is the area
// under the line from 0 to G(n), and oracle the area when ranking by value
// itself. 1 is the oracle, 0 is random and a negative value is worse than
// random. Constant scores give exactly 0. ok is false when the oracle does
// not beat random (all values equal) or there are no rows. AUUC panics when
// the lengths differ.
func AUUC(score, value []float64) (auuc float64, ok bool) {
	if len(score) != len(value) {
		panic("uplift: AUUC score and value lengths differ")
	}
	model := gainAboveRandom(score, value)
	oracle := gainAboveRandom(value, value)
	var scale float64
	for _, v := range value {
		scale += math.Abs(v)
	}
	scale *= float64(len(value))
	if len(value) == 0 || !(oracle > 1e-12*scale) {
		return 0, false
	}
	return model / oracle, true
}

// gainAboveRandom returns the trapezoid area between the cumulative gain
// curve of the ranking by score and the random line. The curve and the line
// are evaluated with the same expressions, so a single tie group gives
// exactly 0.
func gainAboveRandom(score, value []float64) float64 {
	n := len(value)
	if n == 0 {
		return 0
	}
	var total float64
	for _, v := range value {
		total += v
	}
	step := total / float64(n)
	order, ends := tieGroups(score)

	var area, prev, before float64
	start := 0
	for _, end := range ends {
		var sum float64
		for _, i := range order[start:end] {
			sum += value[i]
		}
		mean := sum / float64(end-start)
		for k := start + 1; k <= end; k++ {
			d := before + float64(k-start)*mean - float64(k)*step
			area += (prev + d) / 2
			prev = d
		}
		before += sum
		start = end
	}
	return area
}

// Spearman returns the Spearman rank correlation of a and b, the Pearson
// correlation of their ranks with tied values given their average rank.
// ok is false when either input is constant or has fewer than two rows.
// Spearman panics when the lengths differ.
func Spearman(a, b []float64) (rho float64, ok bool) {
	if len(a) != len(b) {
		panic("uplift: Spearman input lengths differ")
	}
	if len(a) < 2 {
		return 0, false
	}
	rho = stat.Correlation(averageRanks(a), averageRanks(b), nil)
	if math.IsNaN(rho) || math.IsInf(rho, 0) {
		return 0, false
	}
	return rho, true
}

// averageRanks returns the 1-based rank of each value in ascending order,
// with tied values sharing the mean of their ranks.
func averageRanks(v []float64) []float64 {
	order := make([]int, len(v))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(v[a], v[b]) })
	ranks := make([]float64, len(v))
	for start := 0; start < len(order); {
		end := start + 1
		for end < len(order) && v[order[end]] == v[order[start]] {
			end++
		}
		// Ranks start+1 .. end share their mean.
		mean := float64(start+end+1) / 2
		for _, i := range order[start:end] {
			ranks[i] = mean
		}
		start = end
	}
	return ranks
}

// Qini returns the Qini coefficient of the ranking by score from observed
// treatment a and retention y (both 0/1), without ground truth:
//
//	Q(k) = Rt(k) - Rc(k) Nt(k) / Nc(k)     (Rc(k) Nt(k) / Nc(k) = 0 when Nc(k) = 0)
//	Qini = (1/n) mean over k = 1..n of (Q(k) - (k/n) Q(n))
//
// where Nt(k) and Nc(k) count treated and control customers among the k
// highest scores and Rt(k), Rc(k) the retained ones. Rows with tied scores
// contribute their group means. ok is false when there are no rows. Qini
// panics when the lengths differ.
func Qini(score, a, y []float64) (qini float64, ok bool) {
	n := len(score)
	if len(a) != n || len(y) != n {
		panic("uplift: Qini input lengths differ")
	}
	if n == 0 {
		return 0, false
	}
	order, ends := tieGroups(score)
	curve := make([]float64, n+1)
	var nt, nc, rt, rc float64 // counts before the current group
	start := 0
	for _, end := range ends {
		var gt, gc, grt, grc float64
		for _, i := range order[start:end] {
			if a[i] == 1 {
				gt++
				grt += y[i]
			} else {
				gc++
				grc += y[i]
			}
		}
		size := float64(end - start)
		for k := start + 1; k <= end; k++ {
			f := float64(k-start) / size
			curve[k] = qiniPoint(nt+f*gt, nc+f*gc, rt+f*grt, rc+f*grc)
		}
		nt, nc, rt, rc = nt+gt, nc+gc, rt+grt, rc+grc
		start = end
	}
	var sum float64
	for k := 1; k <= n; k++ {
		sum += curve[k] - float64(k)/float64(n)*curve[n]
	}
	return sum / float64(n) / float64(n), true
}

func qiniPoint(treated, controls, retainedTreated, retainedControls float64) float64 {
	if controls == 0 {
		return retainedTreated
	}
	return retainedTreated - retainedControls*treated/controls
}

// optional returns a pointer to v, or nil when v is NaN or infinite, so an
// undefined metric is omitted from JSON instead of written as NaN.
func optional(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
