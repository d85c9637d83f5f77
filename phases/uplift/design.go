package uplift

import (
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// stratifiedFolds assigns each row to one of k folds so that every fold gets
// an equal share, up to one row, of each label value. Rows are shuffled
// within a label before the assignment.
func stratifiedFolds(label []float64, k int, rng *rand.Rand) []int {
	folds := make([]int, len(label))
	var ones, zeros []int
	for i, v := range label {
		if v == 1 {
			ones = append(ones, i)
		} else {
			zeros = append(zeros, i)
		}
	}
	next := 0
	for _, rows := range [][]int{zeros, ones} {
		rng.Shuffle(len(rows), func(a, b int) { rows[a], rows[b] = rows[b], rows[a] })
		for _, i := range rows {
			folds[i] = next % k
			next++
		}
	}
	return folds
}

// splitRows returns the rows outside fold k and the rows in it.
func splitRows(folds []int, k int) (rest, in []int) {
	for i, f := range folds {
		if f == k {
			in = append(in, i)
		} else {
			rest = append(rest, i)
		}
	}
	return rest, in
}

// selectRows copies the given rows of x into a new matrix.
func selectRows(x *mat.Dense, rows []int) *mat.Dense {
	_, p := x.Dims()
	out := mat.NewDense(len(rows), p, nil)
	for r, i := range rows {
		out.SetRow(r, x.RawRowView(i))
	}
	return out
}

// pick returns v at the given rows.
func pick(v []float64, rows []int) []float64 {
	out := make([]float64, len(rows))
	for r, i := range rows {
		out[r] = v[i]
	}
	return out
}

// withTreatment returns [X, A] with the treatment column last.
func withTreatment(x *mat.Dense, a []float64) *mat.Dense {
	n, p := x.Dims()
	out := mat.NewDense(n, p+1, nil)
	for i := range n {
		row := out.RawRowView(i)
		copy(row, x.RawRowView(i))
		row[p] = a[i]
	}
	return out
}

// withInteractions returns [X, A, A*X], the S-learner design.
func withInteractions(x *mat.Dense, a []float64) *mat.Dense {
	n, p := x.Dims()
	out := mat.NewDense(n, 2*p+1, nil)
	for i := range n {
		row := out.RawRowView(i)
		src := x.RawRowView(i)
		copy(row, src)
		row[p] = a[i]
		for j, v := range src {
			row[p+1+j] = a[i] * v
		}
	}
	return out
}

// constant returns a slice of n copies of v.
func constant(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}
