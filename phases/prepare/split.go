package prepare

import (
	"math"
	"math/rand/v2"
	"slices"
)

// pcgStream is the second seed word of the PCG generator of the split, the
// first being Config.Seed. Changing it changes every split.
const pcgStream = 0x70726570 // "prep"

// minPerClass is the smallest number of churned and of retained customers
// that each split must contain.
const minPerClass = 3

// splitSizes returns the row counts of the three splits for n rows:
//
//	held-out = ceil(holdout x n), test = ceil(held-out / 2),
//	val = held-out - test, train = n - held-out.
//
// For n = 7,043 and holdout 0.3 that is 4,930 / 1,056 / 1,057. The product
// is lowered by 1e-9 before the ceiling so that float rounding, as in
// 0.55 x 100 = 55.00000000000001, does not add a row.
func splitSizes(n int, holdout float64) (train, val, test int) {
	held := int(math.Ceil(holdout*float64(n) - 1e-9))
	held = min(max(held, 0), n)
	test = (held + 1) / 2
	return n - held, held - test, test
}

// apportion divides total among groups in proportion to sizes by the
// largest-remainder method: each group gets floor(total x size / sum), and
// the rows left over go to the groups with the largest remainders, ties to
// the lower index. The result sums to total exactly.
func apportion(total int, sizes []int) []int {
	sum := 0
	for _, s := range sizes {
		sum += s
	}
	out := make([]int, len(sizes))
	if sum == 0 {
		return out
	}
	rem := make([]int, len(sizes))
	left := total
	for k, s := range sizes {
		out[k] = total * s / sum
		rem[k] = total * s % sum
		left -= out[k]
	}
	order := make([]int, len(sizes))
	for k := range order {
		order[k] = k
	}
	slices.SortStableFunc(order, func(a, b int) int { return rem[b] - rem[a] })
	for _, k := range order[:left] {
		out[k]++
	}
	return out
}

// stratifiedSplit assigns rows to train, validation and test so that each
// split has nearly the same churn rate. Split sizes follow splitSizes. Each
// class gets its share of the held-out rows by apportion, and within the
// held-out rows each class gets its share of the test rows. The rows of each
// class are shuffled with a PCG generator seeded by seed, so the split is
// the same for the same seed and input. Indices in each split are in input
// order.
func stratifiedSplit(churned []bool, holdout float64, seed uint64) (train, val, test []int) {
	var class [2][]int // 0: retained, 1: churned
	for i, c := range churned {
		if c {
			class[1] = append(class[1], i)
		} else {
			class[0] = append(class[0], i)
		}
	}
	_, nVal, nTest := splitSizes(len(churned), holdout)
	held := apportion(nVal+nTest, []int{len(class[0]), len(class[1])})
	tests := apportion(nTest, held)

	rng := rand.New(rand.NewPCG(seed, pcgStream))
	for c, rows := range class {
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		test = append(test, rows[:tests[c]]...)
		val = append(val, rows[tests[c]:held[c]]...)
		train = append(train, rows[held[c]:]...)
	}
	slices.Sort(train)
	slices.Sort(val)
	slices.Sort(test)
	return train, val, test
}
