package uplift

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// Evaluation contains the metrics of one model on one split. A metric that
// is undefined, or that needs ground truth the data lacks, is nil and
// omitted from JSON.
type Evaluation struct {
	// AUUC is the area under the uplift curve of true uplift x CLV,
	// normalised so that random is 0 and the oracle 1.
	AUUC *float64 `json:"auuc,omitempty"`
	// Spearman is the rank correlation of predicted and true uplift.
	Spearman *float64 `json:"spearman,omitempty"`
	// Qini is the Qini coefficient from observed treatment and retention.
	Qini *float64 `json:"qini,omitempty"`
	// Revenue simulates treating the top customers by predicted uplift.
	Revenue *Revenue `json:"revenue,omitempty"`
}

// Revenue is the simulated net value of treating the Targeted customers
// with the highest predicted uplift, floor(TopFraction x n) of them. Values
// are in dollars: the sum of true uplift x CLV over the targeted customers
// minus the treatment cost per customer.
type Revenue struct {
	Targeted int     `json:"targeted"`
	Value    float64 `json:"value"`
	// RandomMean and RandomSD are the mean and sample standard deviation
	// of the value of RandomDraws seeded random selections of the same size.
	RandomMean float64 `json:"random_mean"`
	RandomSD   float64 `json:"random_sd"`
	// Oracle is the value of the Targeted customers with the highest true
	// uplift x CLV.
	Oracle float64 `json:"oracle"`
	// LiftVsRandom is Value - RandomMean in dollars, and RelativeLift the
	// same divided by |RandomMean|, nil when RandomMean is 0.
	LiftVsRandom float64  `json:"lift_vs_random"`
	RelativeLift *float64 `json:"relative_lift,omitempty"`
	// ZScore is (Value - RandomMean) / RandomSD, nil when RandomSD is 0.
	ZScore *float64 `json:"z_score,omitempty"`
	// Efficiency is Value / Oracle, nil unless Oracle is positive.
	Efficiency *float64 `json:"efficiency,omitempty"`
}

// baseline is the random and oracle reference of one split, shared by
// every model so that their revenues are comparable.
type baseline struct {
	targeted   int
	randomMean float64
	randomSD   float64
	oracle     float64
}

// revenueBaseline draws the random selections and computes the oracle for
// value (true uplift x CLV in dollars). ok is false when no customer would
// be targeted.
func revenueBaseline(value []float64, cfg Config, seed uint64) (baseline, bool) {
	n := len(value)
	b := baseline{targeted: int(math.Floor(cfg.TopFraction * float64(n)))}
	if b.targeted < 1 || cfg.RandomDraws < 1 {
		return b, false
	}
	cost := cfg.TreatmentCost * float64(b.targeted)

	rng := rand.New(rand.NewPCG(seed, revenueStream))
	draws := make([]float64, cfg.RandomDraws)
	for d := range draws {
		var sum float64
		for _, i := range rng.Perm(n)[:b.targeted] {
			sum += value[i]
		}
		draws[d] = sum - cost
	}
	b.randomMean = stat.Mean(draws, nil)
	if len(draws) > 1 {
		b.randomSD = stat.StdDev(draws, nil)
	}

	sorted := slices.Clone(value)
	slices.SortFunc(sorted, func(a, c float64) int { return cmp.Compare(c, a) })
	for _, v := range sorted[:b.targeted] {
		b.oracle += v
	}
	b.oracle -= cost
	return b, true
}

// simulateRevenue returns the revenue of targeting the top customers by
// score against the baseline. A tie group that straddles the cut
// contributes its mean value per remaining slot.
func simulateRevenue(score, value []float64, b baseline, cfg Config) *Revenue {
	order, ends := tieGroups(score)
	var sum float64
	start, left := 0, b.targeted
	for _, end := range ends {
		if left == 0 {
			break
		}
		var groupSum float64
		for _, i := range order[start:end] {
			groupSum += value[i]
		}
		size := end - start
		if size <= left {
			sum += groupSum
			left -= size
		} else {
			sum += groupSum / float64(size) * float64(left)
			left = 0
		}
		start = end
	}
	r := &Revenue{
		Targeted:   b.targeted,
		Value:      sum - cfg.TreatmentCost*float64(b.targeted),
		RandomMean: b.randomMean,
		RandomSD:   b.randomSD,
		Oracle:     b.oracle,
	}
	r.LiftVsRandom = r.Value - r.RandomMean
	if r.RandomMean != 0 {
		r.RelativeLift = optional(r.LiftVsRandom / math.Abs(r.RandomMean))
	}
	if r.RandomSD > 0 {
		r.ZScore = optional(r.LiftVsRandom / r.RandomSD)
	}
	if r.Oracle > 0 {
		r.Efficiency = optional(r.Value / r.Oracle)
	}
	return r
}

// evaluateSplit computes every metric of every model on one split. truth is
// nil for real campaign data, and then only the Qini coefficient is set.
func evaluateSplit(uplift map[string][]float64, models []string, truth, clv, a, y []float64, cfg Config, seed uint64) map[string]Evaluation {
	var value []float64
	var base baseline
	haveBase := false
	if truth != nil {
		value = make([]float64, len(truth))
		for i := range truth {
			value[i] = truth[i] * clv[i]
		}
		base, haveBase = revenueBaseline(value, cfg, seed)
	}

	out := make(map[string]Evaluation, len(models))
	for _, m := range models {
		score := uplift[m]
		var ev Evaluation
		if q, ok := Qini(score, a, y); ok {
			ev.Qini = optional(q)
		}
		if truth != nil {
			if v, ok := AUUC(score, value); ok {
				ev.AUUC = optional(v)
			}
			if rho, ok := Spearman(score, truth); ok {
				ev.Spearman = optional(rho)
			}
			if haveBase {
				ev.Revenue = simulateRevenue(score, value, base, cfg)
			}
		}
		out[m] = ev
	}
	return out
}
