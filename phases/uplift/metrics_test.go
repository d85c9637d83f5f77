package uplift

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestAUUCHandValues(t *testing.T) {
	// value [3, 1, 2], total 6, random line 0, 2, 4, 6 with area 6.
	// Oracle order 3, 2, 1: gain 0, 3, 5, 6, area 8, so oracle - random = 2.
	tests := []struct {
		name  string
		score []float64
		want  float64
	}{
		// Order 3, 2, 1 is the oracle itself.
		{"Perfect", []float64{9, 1, 5}, 1},
		// Order 1, 2, 3: gain 0, 1, 3, 6, area 4, so (4 - 6) / 2.
		{"Reversed", []float64{1, 3, 2}, -1},
		// Rows 1 and 2 tie first with mean 1.5: gain 0, 1.5, 3, 6, area
		// 4.5, so (4.5 - 6) / 2.
		{"TieGroup", []float64{0, 1, 1}, -0.75},
		{"Constant", []float64{4, 4, 4}, 0},
	}
	value := []float64{3, 1, 2}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := AUUC(tt.score, value)
			if !ok {
				t.Fatal("AUUC undefined")
			}
			if math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("AUUC = %v, expected %v", got, tt.want)
			}
		})
	}
}

func TestAUUCRandomData(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	n := 500
	value, noisy := make([]float64, n), make([]float64, n)
	for i := range value {
		value[i] = rng.NormFloat64()*10 + 2
		noisy[i] = value[i] + rng.NormFloat64()*10
	}
	reversed := make([]float64, n)
	for i, v := range value {
		reversed[i] = -v
	}

	if got, _ := AUUC(value, value); got != 1 {
		t.Errorf("perfect ranking AUUC = %v, expected 1", got)
	}
	if got, _ := AUUC(reversed, value); !(got < 0) {
		t.Errorf("reversed ranking AUUC = %v, expected < 0", got)
	}
	if got, _ := AUUC(constant(n, 0.3), value); got != 0 {
		t.Errorf("constant scores AUUC = %v, expected exactly 0", got)
	}
	if got, _ := AUUC(noisy, value); !(got > 0.3 && got < 1) {
		t.Errorf("noisy ranking AUUC = %v, expected in (0.3, 1)", got)
	}
	if _, ok := AUUC(noisy, constant(n, 1)); ok {
		t.Errorf("AUUC defined although every value is equal")
	}
}

// TestMetricsTiePermutation permutes rows with only four distinct scores:
// grouped ties make every ranking metric independent of the row order.
func TestMetricsTiePermutation(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	n := 400
	score, value, a, y := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range n {
		score[i] = float64(rng.IntN(4))
		value[i] = rng.NormFloat64() + score[i]/2
		a[i] = float64(rng.IntN(2))
		y[i] = float64(rng.IntN(2))
	}
	perm := rng.Perm(n)
	ps, pv, pa, py := pick(score, perm), pick(value, perm), pick(a, perm), pick(y, perm)

	auuc1, _ := AUUC(score, value)
	auuc2, _ := AUUC(ps, pv)
	if math.Abs(auuc1-auuc2) > 1e-12 {
		t.Errorf("AUUC changed under permutation: %v and %v", auuc1, auuc2)
	}
	q1, _ := Qini(score, a, y)
	q2, _ := Qini(ps, pa, py)
	if math.Abs(q1-q2) > 1e-12 {
		t.Errorf("Qini changed under permutation: %v and %v", q1, q2)
	}
	cfg := DefaultConfig()
	base, ok := revenueBaseline(value, cfg, 1)
	if !ok {
		t.Fatal("no revenue baseline")
	}
	r1 := simulateRevenue(score, value, base, cfg)
	r2 := simulateRevenue(ps, pv, base, cfg)
	if math.Abs(r1.Value-r2.Value) > 1e-9 {
		t.Errorf("revenue changed under permutation: %v and %v", r1.Value, r2.Value)
	}
}

func TestSpearmanTies(t *testing.T) {
	// Ranks of a are 1, 2.5, 2.5, 4 and of b 1, 3, 2, 4. Both have mean 2.5,
	// cross products sum to 4.5 and squares to 4.5 and 5, so
	// rho = 4.5 / sqrt(4.5 x 5) = sqrt(0.9). R 4.2.2 agrees:
	// cor(c(1, 2, 2, 3), c(10, 30, 20, 40), method = "spearman").
	got, ok := Spearman([]float64{1, 2, 2, 3}, []float64{10, 30, 20, 40})
	if !ok {
		t.Fatal("Spearman undefined")
	}
	if want := math.Sqrt(0.9); math.Abs(got-want) > 1e-12 {
		t.Errorf("Spearman = %v, expected %v", got, want)
	}
	if _, ok := Spearman([]float64{1, 1, 1}, []float64{1, 2, 3}); ok {
		t.Errorf("Spearman defined for a constant input")
	}
}

func TestAverageRanks(t *testing.T) {
	got := averageRanks([]float64{5, 1, 5, 3, 5})
	want := []float64{4, 1, 4, 2, 4}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("rank of row %d = %v, expected %v", i, got[i], want[i])
		}
	}
}

func TestQiniHandValues(t *testing.T) {
	a := []float64{1, 0, 1, 0}
	y := []float64{1, 0, 0, 1}
	tests := []struct {
		name  string
		score []float64
		want  float64
	}{
		// Q(1..4) = 1, 1, 1, 0. Q(1) has no control, so Q(1) = Rt(1) = 1,
		// and Q(4) = 1 - 1 x 2/2 = 0. The sum is 3, so 3 / 4 / 4.
		{"Distinct", []float64{4, 3, 2, 1}, 0.1875},
		// Groups {0, 1} and {2, 3} contribute half a row each step:
		// Q(1) = 0.5, Q(2) = 1, Q(3) = 1 - 0.5 x 1.5/1.5 = 0.5, Q(4) = 0,
		// so the sum is 2 and 2 / 16.
		{"Ties", []float64{1, 1, 0, 0}, 0.125},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Qini(tt.score, a, y)
			if !ok {
				t.Fatal("Qini undefined")
			}
			if math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("Qini = %v, expected %v", got, tt.want)
			}
		})
	}
}

func TestRevenueSimulation(t *testing.T) {
	// Ten customers worth 1 to 10 dollars. The top 20% is 2 rows.
	value := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	cfg := DefaultConfig()
	base, ok := revenueBaseline(value, cfg, 7)
	if !ok {
		t.Fatal("no revenue baseline")
	}
	if base.targeted != 2 {
		t.Fatalf("targeted %d, expected 2", base.targeted)
	}
	// Oracle: 10 + 9 - 2 x 5 dollars.
	if base.oracle != 9 {
		t.Errorf("oracle %v, expected 9", base.oracle)
	}
	// Random pairs have expected value 2 x 5.5 - 10 = 1 dollar.
	if math.Abs(base.randomMean-1) > 3 {
		t.Errorf("random mean %v, expected near 1", base.randomMean)
	}
	if !(base.randomSD > 0) {
		t.Errorf("random sd %v, expected > 0", base.randomSD)
	}

	r := simulateRevenue(value, value, base, cfg)
	if r.Value != 9 {
		t.Errorf("perfect ranking value %v, expected 9", r.Value)
	}
	if r.Efficiency == nil || *r.Efficiency != 1 {
		t.Errorf("perfect ranking efficiency %v, expected 1", deref(r.Efficiency))
	}
	if r.ZScore == nil || !(*r.ZScore > 0) {
		t.Errorf("perfect ranking z-score %v, expected > 0", deref(r.ZScore))
	}
	if r.LiftVsRandom != r.Value-base.randomMean {
		t.Errorf("lift %v, expected value - random mean = %v", r.LiftVsRandom, r.Value-base.randomMean)
	}

	// Rows 0, 1, 2 tie on top: 2 slots at their mean 2 dollars, minus cost.
	tied := []float64{5, 5, 5, 1, 1, 1, 1, 1, 1, 1}
	if got := simulateRevenue(tied, value, base, cfg).Value; got != 4-10 {
		t.Errorf("tied top value %v, expected -6", got)
	}
}
