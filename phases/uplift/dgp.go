package uplift

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/ecomopti/ecomopti/phases/dataset"
)

// DGPConfig contains the constants of the semi-synthetic data-generating
// process. DefaultDGPConfig gives the values that the field comments name.
//
// For customer i with base churn p0 = 1 - S(6|x), clipped to [P0Min, P0Max]:
//
//	usage       u = 0.3 tenure/60 + 0.4 [OnlineSecurity = No] + 0.3 [not month-to-month]
//	price       e = 1.5 if MonthlyCharges < 50, 0.3 if MonthlyCharges > 80, else 1.0
//	competition m = 0.9 fiber optic, 0.6 DSL, 0.3 no internet
//	logit       = a + 0.4 u + 0.3 [tenure < 12] - 0.5 m - 0.3 e + 0.2 ln(tenure + 1)
//	              + 0.4 u [not month-to-month] - 0.3 e m + N(0, 0.2^2)
//	A           ~ Bernoulli(sigmoid(logit)), with a solved so that the mean is 0.35
//	r           = effect by contract (see the Effect fields), noise N(0, 0.03^2),
//	              clipped to [-0.40, 0.70]
//	churn       = p0 (1 - r) if A = 1, else p0; Y = 1 - Bernoulli(churn)
//	true uplift = p0 r
//
// Tenure is in months and MonthlyCharges in dollars per month.
type DGPConfig struct {
	// P0Min and P0Max clip the base churn probability, also for real
	// campaign data. Defaults 0.01 and 0.60.
	P0Min, P0Max float64

	// TargetPropensity is the mean treatment probability that the logit
	// intercept is solved for, after the noise is drawn. Default 0.35.
	TargetPropensity float64
	// TreatmentNoiseSD is the standard deviation of the normal noise on
	// the treatment logit. Default 0.2.
	TreatmentNoiseSD float64

	// UsageTenure weights tenure/UsageTenureScale in the usage score.
	// Defaults 0.3 and 60 months.
	UsageTenure, UsageTenureScale float64
	// UsageNoOnlineSecurity weights [OnlineSecurity = No]. Default 0.4.
	UsageNoOnlineSecurity float64
	// UsageNotMonthly weights [contract is not month-to-month]. Default 0.3.
	UsageNotMonthly float64

	// PriceLowCharge and PriceHighCharge are the MonthlyCharges bounds in
	// dollars of the price-sensitivity bands. Defaults 50 and 80.
	PriceLowCharge, PriceHighCharge float64
	// PriceSensitivityLow applies below PriceLowCharge (default 1.5),
	// PriceSensitivityHigh above PriceHighCharge (default 0.3) and
	// PriceSensitivityMid in between (default 1.0).
	PriceSensitivityLow, PriceSensitivityMid, PriceSensitivityHigh float64

	// Market competition by internet service. Defaults 0.9 fiber optic,
	// 0.6 DSL, 0.3 no internet. A row with no internet-service indicator
	// set, which happens for a category unseen in training, gets
	// CompetitionNone.
	CompetitionFiber, CompetitionDSL, CompetitionNone float64

	// Treatment logit coefficients, signs included. Defaults: usage 0.4,
	// new customer 0.3 (tenure below NewCustomerTenure = 12 months),
	// competition -0.5, price sensitivity -0.3, ln(tenure + 1) 0.2,
	// usage x [not month-to-month] 0.4, price x competition -0.3.
	LogitUsage, LogitNewCustomer, LogitCompetition, LogitPrice  float64
	LogitLogTenure, LogitUsageNotMonthly, LogitPriceCompetition float64
	NewCustomerTenure                                           float64

	// Relative churn reduction r by contract. Defaults: month-to-month
	// without tech support or online security 0.45, other month-to-month
	// 0.25, one year 0.15, two year 0.05. A row with no contract indicator
	// set is treated as two year.
	EffectMonthlyUnprotected, EffectMonthly, EffectOneYear, EffectTwoYear float64
	// EffectHighCLV is added for customers whose predicted CLV is above the
	// HighCLVQuantile of the training split. Defaults 0.10 and 0.80.
	EffectHighCLV, HighCLVQuantile float64
	// Month-to-month customers with tenure >= SleepingDogTenure months get
	// r = SleepingDogEffect, overriding the contract and CLV terms.
	// Defaults 48 months and -0.30.
	SleepingDogTenure, SleepingDogEffect float64
	// EffectNoiseSD is the standard deviation of the normal noise on r
	// (default 0.03), which is then clipped to [EffectMin, EffectMax]
	// (defaults -0.40 and 0.70).
	EffectNoiseSD, EffectMin, EffectMax float64
}

// DefaultDGPConfig returns the default data-generating process.
func DefaultDGPConfig() DGPConfig {
	return DGPConfig{
		P0Min: 0.01, P0Max: 0.60,
		TargetPropensity: 0.35, TreatmentNoiseSD: 0.2,
		UsageTenure: 0.3, UsageTenureScale: 60,
		UsageNoOnlineSecurity: 0.4, UsageNotMonthly: 0.3,
		PriceLowCharge: 50, PriceHighCharge: 80,
		PriceSensitivityLow: 1.5, PriceSensitivityMid: 1.0, PriceSensitivityHigh: 0.3,
		CompetitionFiber: 0.9, CompetitionDSL: 0.6, CompetitionNone: 0.3,
		LogitUsage: 0.4, LogitNewCustomer: 0.3, LogitCompetition: -0.5, LogitPrice: -0.3,
		LogitLogTenure: 0.2, LogitUsageNotMonthly: 0.4, LogitPriceCompetition: -0.3,
		NewCustomerTenure:        12,
		EffectMonthlyUnprotected: 0.45, EffectMonthly: 0.25,
		EffectOneYear: 0.15, EffectTwoYear: 0.05,
		EffectHighCLV: 0.10, HighCLVQuantile: 0.80,
		SleepingDogTenure: 48, SleepingDogEffect: -0.30,
		EffectNoiseSD: 0.03, EffectMin: -0.40, EffectMax: 0.70,
	}
}

// validate rejects settings that would make the process undefined.
func (c DGPConfig) validate() error {
	switch {
	case !(0 <= c.P0Min && c.P0Min <= c.P0Max && c.P0Max <= 1):
		return fmt.Errorf("p0 clip [%v, %v] must lie within [0, 1]", c.P0Min, c.P0Max)
	case !(c.TargetPropensity > 0 && c.TargetPropensity < 1):
		return fmt.Errorf("target propensity %v must be in (0, 1)", c.TargetPropensity)
	case !(c.TreatmentNoiseSD >= 0) || !(c.EffectNoiseSD >= 0):
		return fmt.Errorf("noise standard deviations %v and %v must be >= 0", c.TreatmentNoiseSD, c.EffectNoiseSD)
	case !(c.UsageTenureScale > 0):
		return fmt.Errorf("usage tenure scale %v must be positive", c.UsageTenureScale)
	case !(c.HighCLVQuantile >= 0 && c.HighCLVQuantile <= 1):
		return fmt.Errorf("high-CLV quantile %v must be in [0, 1]", c.HighCLVQuantile)
	case !(c.EffectMin <= c.EffectMax):
		return fmt.Errorf("effect clip [%v, %v] is empty", c.EffectMin, c.EffectMax)
	}
	return nil
}

// generated is the simulated campaign for one split.
type generated struct {
	propensity []float64 // true treatment probability
	treatment  []float64 // A, 0/1
	retained   []float64 // Y, 0/1
	effect     []float64 // r, relative churn reduction
	uplift     []float64 // p0 r
	intercept  float64   // solved logit intercept a
}

// dgpStream is the second PCG seed word of the data-generating streams. The
// first word is the run seed plus the split offset.
const dgpStream = 0x6467_70 // "dgp"

// generate simulates treatment and outcome for one split, drawing from a
// PCG stream seeded with (seed, dgpStream). p0 is the clipped base churn,
// clv the predicted CLV in dollars and clvCut the training-split CLV
// quantile above which the high-CLV bonus applies.
func generate(f *dataset.Frame, p0, clv []float64, clvCut float64, cfg DGPConfig, seed uint64) (*generated, error) {
	n := f.Len()
	tenure, err := f.Col(dataset.FeatTenure)
	if err != nil {
		return nil, fmt.Errorf("generate treatment: %w", err)
	}
	charges, err := f.Col(dataset.FeatMonthlyCharges)
	if err != nil {
		return nil, fmt.Errorf("generate treatment: %w", err)
	}
	monthly := f.ColOrZero(dataset.FeatMonthToMonth)
	oneYear := f.ColOrZero(dataset.FeatOneYear)
	noSecurity := f.ColOrZero(dataset.FeatOnlineSecNo)
	noSupport := f.ColOrZero(dataset.FeatTechSupportNo)
	fiber := f.ColOrZero(dataset.FeatFiberOptic)
	dsl := f.ColOrZero(dataset.FeatDSL)

	rng := rand.New(rand.NewPCG(seed, dgpStream))
	g := &generated{
		propensity: make([]float64, n),
		treatment:  make([]float64, n),
		retained:   make([]float64, n),
		effect:     make([]float64, n),
		uplift:     make([]float64, n),
	}

	// Treatment logit without the intercept, noise included.
	logit := make([]float64, n)
	for i := range n {
		notMonthly := 1 - monthly[i]
		usage := cfg.UsageTenure*tenure[i]/cfg.UsageTenureScale +
			cfg.UsageNoOnlineSecurity*noSecurity[i] + cfg.UsageNotMonthly*notMonthly
		price := priceSensitivity(charges[i], cfg)
		market := cfg.CompetitionNone
		switch {
		case fiber[i] == 1:
			market = cfg.CompetitionFiber
		case dsl[i] == 1:
			market = cfg.CompetitionDSL
		}
		newCustomer := 0.0
		if tenure[i] < cfg.NewCustomerTenure {
			newCustomer = 1
		}
		logit[i] = cfg.LogitUsage*usage + cfg.LogitNewCustomer*newCustomer +
			cfg.LogitCompetition*market + cfg.LogitPrice*price +
			cfg.LogitLogTenure*math.Log(tenure[i]+1) +
			cfg.LogitUsageNotMonthly*usage*notMonthly +
			cfg.LogitPriceCompetition*price*market +
			cfg.TreatmentNoiseSD*rng.NormFloat64()
	}

	// Intercept solved after the noise, then the treatment draw.
	g.intercept = solveIntercept(logit, cfg.TargetPropensity)
	for i := range n {
		g.propensity[i] = sigmoid(g.intercept + logit[i])
		if rng.Float64() < g.propensity[i] {
			g.treatment[i] = 1
		}
	}

	// Relative churn reduction, true uplift and the observed outcome.
	for i := range n {
		var r float64
		switch {
		case monthly[i] == 1 && tenure[i] >= cfg.SleepingDogTenure:
			r = cfg.SleepingDogEffect
		case monthly[i] == 1 && (noSupport[i] == 1 || noSecurity[i] == 1):
			r = cfg.EffectMonthlyUnprotected
		case monthly[i] == 1:
			r = cfg.EffectMonthly
		case oneYear[i] == 1:
			r = cfg.EffectOneYear
		default:
			r = cfg.EffectTwoYear
		}
		if !(monthly[i] == 1 && tenure[i] >= cfg.SleepingDogTenure) && clv[i] > clvCut {
			r += cfg.EffectHighCLV
		}
		r = clip(r+cfg.EffectNoiseSD*rng.NormFloat64(), cfg.EffectMin, cfg.EffectMax)
		g.effect[i] = r
		g.uplift[i] = p0[i] * r

		churn := p0[i]
		if g.treatment[i] == 1 {
			churn = p0[i] * (1 - r)
		}
		if rng.Float64() >= churn {
			g.retained[i] = 1
		}
	}
	return g, nil
}

// priceSensitivity maps MonthlyCharges in dollars to the price band.
func priceSensitivity(charge float64, cfg DGPConfig) float64 {
	switch {
	case charge < cfg.PriceLowCharge:
		return cfg.PriceSensitivityLow
	case charge > cfg.PriceHighCharge:
		return cfg.PriceSensitivityHigh
	default:
		return cfg.PriceSensitivityMid
	}
}

// solveIntercept returns the a for which mean(sigmoid(a + logit)) equals
// target, by bisection. The mean is increasing in a, so the bracket is
// widened until it contains the root and then halved to 1e-12.
func solveIntercept(logit []float64, target float64) float64 {
	meanProb := func(a float64) float64 {
		var s float64
		for _, v := range logit {
			s += sigmoid(a + v)
		}
		return s / float64(len(logit))
	}
	lo, hi := -1.0, 1.0
	for meanProb(lo) > target && lo > -1e3 {
		lo *= 2
	}
	for meanProb(hi) < target && hi < 1e3 {
		hi *= 2
	}
	for hi-lo > 1e-12 {
		mid := (lo + hi) / 2
		if meanProb(mid) < target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// quantile returns the q-quantile of v by linear interpolation between
// order statistics at position (n-1) q. This is type 7 of Hyndman and Fan,
// the default of R's quantile.
func quantile(v []float64, q float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	h := float64(len(s)-1) * q
	lo := int(math.Floor(h))
	if lo+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

func clip(v, lo, hi float64) float64 { return math.Min(math.Max(v, lo), hi) }
