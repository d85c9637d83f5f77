package uplift

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ecomopti/ecomopti/phases/dataset"
	"gonum.org/v1/gonum/mat"
)

// telcoLikeNames are the feature columns of the synthetic Telco-like frames.
var telcoLikeNames = []string{
	dataset.FeatMonthToMonth, dataset.FeatOneYear, dataset.FeatTwoYear,
	dataset.FeatOnlineSecNo, dataset.FeatTechSupportNo,
	dataset.FeatDSL, dataset.FeatFiberOptic, dataset.FeatNoInternet,
	dataset.FeatMonthlyCharges, dataset.FeatTenure, dataset.FeatSeniorCitizen,
}

// telcoLikeFrame draws n customers with the columns the simulated campaign
// reads, in shares close to the Telco file, with S(6|x) from a logistic
// churn model and CLV = S(6|x) x MonthlyCharges x 6 dollars.
func telcoLikeFrame(n int, seed uint64) (f *dataset.Frame, s6, clv []float64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	f = &dataset.Frame{
		IDs:    make([]string, n),
		Event:  make([]float64, n),
		Tenure: make([]float64, n),
		Names:  telcoLikeNames,
		X:      mat.NewDense(n, len(telcoLikeNames), nil),
	}
	s6, clv = make([]float64, n), make([]float64, n)
	for i := range n {
		row := make([]float64, len(telcoLikeNames))
		contract := rng.Float64()
		switch {
		case contract < 0.55:
			row[0] = 1
		case contract < 0.76:
			row[1] = 1
		default:
			row[2] = 1
		}
		internet := rng.Float64()
		var charges float64
		switch {
		case internet < 0.34:
			row[5] = 1
			charges = 45 + 20*rng.Float64()
		case internet < 0.78:
			row[6] = 1
			charges = 70 + 40*rng.Float64()
		default:
			row[7] = 1
			charges = 19 + 6*rng.Float64()
		}
		if row[7] == 0 {
			if rng.Float64() < 0.6 {
				row[3] = 1
			}
			if rng.Float64() < 0.6 {
				row[4] = 1
			}
		}
		tenure := float64(rng.IntN(73))
		row[8], row[9] = charges, tenure
		if rng.Float64() < 0.16 {
			row[10] = 1
		}
		f.X.SetRow(i, row)
		f.IDs[i] = fmt.Sprintf("C%05d", i)
		f.Tenure[i] = tenure

		p0 := sigmoid(-2 + 1.8*row[0] - 0.03*tenure + 0.6*row[6] + 0.3*row[4])
		s6[i] = 1 - p0
		clv[i] = s6[i] * charges * 6
		if rng.Float64() < p0 {
			f.Event[i] = 1
		}
	}
	return f, s6, clv
}

// telcoLikeInput builds an Input with three independent telco-like splits.
func telcoLikeInput(nTrain, nHeld int) Input {
	in := Input{
		Frames: map[string]*dataset.Frame{},
		S6:     map[string][]float64{},
		CLV:    map[string][]float64{},
	}
	for k, split := range dataset.Splits {
		n := nHeld
		if split == dataset.Train {
			n = nTrain
		}
		f, s6, clv := telcoLikeFrame(n, uint64(100+k))
		in.Frames[split], in.S6[split], in.CLV[split] = f, s6, clv
	}
	return in
}

// knownEffectFrame draws n customers with real campaign data: treatment is
// a fair coin, retention is 0.6 in control and in segment 0, and 0.8 for
// treated customers of segment 1. So the true uplift is +0.2 in segment 1
// and 0 in segment 0. A noise feature carries no signal.
func knownEffectFrame(n int, seed uint64) *dataset.Frame {
	rng := rand.New(rand.NewPCG(seed, 7))
	f := &dataset.Frame{
		IDs:       make([]string, n),
		Event:     make([]float64, n),
		Tenure:    make([]float64, n),
		Names:     []string{"segment", "noise"},
		X:         mat.NewDense(n, 2, nil),
		Treatment: make([]float64, n),
		Retained:  make([]float64, n),
	}
	for i := range n {
		segment := float64(i % 2)
		f.X.Set(i, 0, segment)
		f.X.Set(i, 1, rng.NormFloat64())
		f.IDs[i] = fmt.Sprintf("K%05d", i)
		f.Tenure[i] = float64(rng.IntN(72))
		if rng.Float64() < 0.5 {
			f.Treatment[i] = 1
		}
		keep := 0.6
		if segment == 1 && f.Treatment[i] == 1 {
			keep = 0.8
		}
		if rng.Float64() < keep {
			f.Retained[i] = 1
		}
		f.Event[i] = 1 - f.Retained[i]
	}
	return f
}

// knownEffectInput builds an Input of knownEffectFrame splits.
func knownEffectInput(nTrain, nHeld int) Input {
	in := Input{
		Frames: map[string]*dataset.Frame{},
		S6:     map[string][]float64{},
		CLV:    map[string][]float64{},
	}
	for k, split := range dataset.Splits {
		n := nHeld
		if split == dataset.Train {
			n = nTrain
		}
		in.Frames[split] = knownEffectFrame(n, uint64(200+k))
		in.S6[split] = constant(n, 0.8)
		in.CLV[split] = constant(n, 300)
	}
	return in
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func nan() float64 { return math.NaN() }
