package gbt

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// oneHotData returns n rows of ten features. Columns 0-3 are a 4-level
// one-hot group and 4-6 a 3-level group whose last level never occurs in
// the first 10 rows. Column 7 is an independent flag set in 70% of rows,
// 8 a numeric column, and 9 a numeric column with missing values.
func oneHotData(n int, seed uint64) *mat.Dense {
	rng := newRand(seed)
	x := mat.NewDense(n, 10, nil)
	for i := 0; i < n; i++ {
		row := x.RawRowView(i)
		row[rng.IntN(4)] = 1
		if i < 10 {
			row[4+rng.IntN(2)] = 1
		} else {
			row[4+rng.IntN(3)] = 1
		}
		if rng.Float64() < 0.7 {
			row[7] = 1
		}
		row[8] = rng.NormFloat64()
		row[9] = rng.Float64()
		if rng.Float64() < 0.1 {
			row[9] = math.NaN()
		}
	}
	return x
}

func TestBundleKeepsEveryBin(t *testing.T) {
	x := oneHotData(3000, 1)
	n, p := x.Dims()
	m := fitBins(x, 255, 1)
	d := binData(x, m, 1)

	// The two one-hot groups fit in one column each; the flag, the
	// numeric column and the column with missing values cannot share.
	if d.cols > 5 {
		t.Errorf("%d columns for 10 features, want at most 5", d.cols)
	}
	if d.colOf[0] != d.colOf[3] || d.colOf[4] != d.colOf[6] {
		t.Errorf("one-hot groups are split over columns %v", d.colOf)
	}
	if d.defaultBin[9] != -1 {
		t.Errorf("feature with missing values is bundled (default bin %d)", d.defaultBin[9])
	}
	for i := 0; i < n; i++ {
		for f := 0; f < p; f++ {
			if got, want := d.bin(i, f), m.code(f, x.At(i, f)); got != want {
				t.Fatalf("row %d feature %d: bundled bin %d, want %d", i, f, got, want)
			}
		}
	}

	// A subset keeps the decoding of its rows.
	rows := []int{5, 0, 2999, 17}
	s := d.subset(rows)
	for k, i := range rows {
		for f := 0; f < p; f++ {
			if s.bin(k, f) != d.bin(i, f) {
				t.Fatalf("subset row %d (row %d) feature %d: bin %d, want %d", k, i, f, s.bin(k, f), d.bin(i, f))
			}
		}
	}
}

func TestFeatureHistMatchesDirectSums(t *testing.T) {
	x := oneHotData(2000, 2)
	n, p := x.Dims()
	m := fitBins(x, 255, 1)
	d := binData(x, m, 1)
	rng := newRand(3)
	grad := make([]gradPair, n)
	// A node of every third row, with gradients of mixed sign.
	var rows []int32
	var total histBin
	for i := range grad {
		grad[i] = gradPair{g: rng.NormFloat64(), h: 0.1 + rng.Float64()}
		if i%3 == 0 {
			rows = append(rows, int32(i))
			total.g += grad[i].g
			total.h += grad[i].h
			total.n++
		}
	}
	cols := make([]int, d.cols)
	for c := range cols {
		cols[c] = c
	}
	hist := make([]histBin, d.slots())
	newHistBuilder(d, 1).build(grad, rows, cols, hist)

	buf := make([]histBin, MaxBinsLimit+1)
	for f := 0; f < p; f++ {
		want := make([]histBin, m.numBins(f)+1)
		for _, r := range rows {
			b := &want[m.code(f, x.At(int(r), f))]
			b.g += grad[r].g
			b.h += grad[r].h
			b.n++
		}
		got := d.featureHist(f, hist, total, buf)
		if len(got) != len(want) {
			t.Fatalf("feature %d: %d slots, want %d", f, len(got), len(want))
		}
		for b := range want {
			if got[b].n != want[b].n || math.Abs(got[b].g-want[b].g) > 1e-9 || math.Abs(got[b].h-want[b].h) > 1e-9 {
				t.Errorf("feature %d bin %d: got %+v, want %+v", f, b, got[b], want[b])
			}
		}
	}
}

// TestBundledFitMatchesOneColumnPerFeature fits the same data once with
// bundling and once with every feature alone in its column. Bundling
// only changes the order of floating-point sums, so the predictions agree
// to rounding.
func TestBundledFitMatchesOneColumnPerFeature(t *testing.T) {
	x := oneHotData(1500, 4)
	n, p := x.Dims()
	rng := newRand(5)
	y := make([]float64, n)
	for i := range y {
		row := x.RawRowView(i)
		y[i] = 2*row[1] - row[5] + 0.5*row[7] + row[8] + 0.1*rng.NormFloat64()
	}
	params := DefaultParams()
	params.Trees = 40
	params.MaxDepth = 4
	params.ColSample = 0.7

	m := fitBins(x, params.MaxBins, 1)
	bundled := binData(x, m, 1)
	featCodes := make([]uint8, n*p)
	for i := 0; i < n; i++ {
		for f := 0; f < p; f++ {
			featCodes[i*p+f] = m.code(f, x.At(i, f))
		}
	}
	alone := newBinnedData(featCodes, n, p, m)
	// Undo the bundling: one column per feature, codes as they are.
	alone.cols = p
	alone.codes = featCodes
	alone.offset = make([]int, p+1)
	for f := 0; f < p; f++ {
		alone.colOf[f] = f
		alone.defaultBin[f] = -1
		alone.decode[f] = make([]uint8, m.numBins(f)+1)
		for b := range alone.decode[f] {
			alone.decode[f][b] = uint8(b)
		}
		alone.offset[f+1] = alone.offset[f] + m.numBins(f) + 1
	}
	if bundled.cols >= alone.cols {
		t.Fatalf("bundling left %d columns for %d features", bundled.cols, p)
	}

	names := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	mb, _, err := fitBinned(t.Context(), bundled, y, params, names, nil)
	if err != nil {
		t.Fatal(err)
	}
	ma, _, err := fitBinned(t.Context(), alone, y, params, names, nil)
	if err != nil {
		t.Fatal(err)
	}
	pb, pa := mb.Predict(x), ma.Predict(x)
	for i := range pb {
		if math.Abs(pb[i]-pa[i]) > 1e-9 {
			t.Fatalf("row %d: bundled prediction %v, unbundled %v", i, pb[i], pa[i])
		}
	}
}
