package survival

import (
	"fmt"
	"math"

	"github.com/ecomopti/ecomopti/phases/gbt"
	"github.com/ecomopti/ecomopti/phases/learn"
)

// Default values of Config.
const (
	LambdaDefault          = 0.1
	MaxIterDefault         = 50
	TolDefault             = 1e-9
	HorizonMonthsDefault   = 6.0
	BootstrapDefault       = 200
	SeedDefault            = 42
	IBSPointsDefault       = 15
	CalibrationBinsDefault = 10
	SurvivalMinDefault     = 0.01
	SurvivalMaxDefault     = 0.99
)

// Config holds the settings of Phase 2. The zero value is not usable, so
// start from DefaultConfig.
type Config struct {
	// Lambda is the ridge strength on standardised Cox coefficients. The
	// penalty is (n Lambda / 2) ||b||^2 with n training rows. Default 0.1.
	// Zero is allowed but fails on collinear columns with ErrSingular.
	Lambda float64
	// MaxIter is the maximum number of Newton-Raphson steps. Default 50.
	MaxIter int
	// Tol stops Newton-Raphson when the penalised log-likelihood changes by
	// less than Tol in one step. Default 1e-9.
	Tol float64
	// HorizonMonths is the horizon of the survival probability used for
	// CLV, the Brier score and the calibration table. Default 6.
	HorizonMonths float64
	// Bootstrap is the number of resamples for the C-index interval, and 0
	// skips the interval. Default 200.
	Bootstrap int
	// Seed seeds the PCG generators of the bootstrap interval and of the
	// random survival forest. Default 42.
	Seed uint64
	// IBSPoints is the number of grid times of the integrated Brier score,
	// at least 2. Default 15.
	IBSPoints int
	// CalibrationBins is the number of quantile bins of predicted survival
	// in the calibration table, at least 1. Default 10.
	CalibrationBins int
	// SurvivalMin and SurvivalMax clip S(horizon | x) before it enters
	// the CLV target and the predictions. Defaults 0.01 and 0.99.
	SurvivalMin, SurvivalMax float64
	// RSF configures the random survival forest, which is evaluated
	// beside the Cox model and not used downstream. RSF.Trees 0 skips it.
	RSF RSFConfig
	// CLVFit fits the CLV regression. Default and nil mean boosted trees
	// with CLVParams.
	CLVFit learn.FitFunc
}

// DefaultConfig returns the default Phase 2 settings.
func DefaultConfig() Config {
	return Config{
		Lambda:          LambdaDefault,
		MaxIter:         MaxIterDefault,
		Tol:             TolDefault,
		HorizonMonths:   HorizonMonthsDefault,
		Bootstrap:       BootstrapDefault,
		Seed:            SeedDefault,
		IBSPoints:       IBSPointsDefault,
		CalibrationBins: CalibrationBinsDefault,
		SurvivalMin:     SurvivalMinDefault,
		SurvivalMax:     SurvivalMaxDefault,
		RSF:             DefaultRSFConfig(),
		CLVFit:          gbt.Fitter(CLVParams()),
	}
}

// CLVParams returns the boosted-tree settings of the CLV regression:
// squared error, 500 trees grown leaf-wise to at most 31 leaves with no
// depth limit, learning rate 0.05 and at least 20 customers per leaf.
func CLVParams() gbt.Params {
	p := gbt.DefaultParams()
	p.Loss = gbt.LossSquared
	p.Trees = 500
	p.LearningRate = 0.05
	p.MaxDepth = 0
	p.MaxLeaves = 31
	p.MinSamplesLeaf = 20
	return p
}

// validate returns an error wrapping ErrConfig that names the first
// invalid field.
func (c Config) validate() error {
	switch {
	case !(c.Lambda >= 0) || math.IsInf(c.Lambda, 0):
		return fmt.Errorf("%w: lambda %v must be finite and >= 0", ErrConfig, c.Lambda)
	case c.MaxIter < 1:
		return fmt.Errorf("%w: max iterations %d must be >= 1", ErrConfig, c.MaxIter)
	case !(c.Tol > 0):
		return fmt.Errorf("%w: tolerance %v must be > 0", ErrConfig, c.Tol)
	case !(c.HorizonMonths > 0) || math.IsInf(c.HorizonMonths, 0):
		return fmt.Errorf("%w: horizon %v months must be finite and > 0", ErrConfig, c.HorizonMonths)
	case c.Bootstrap < 0:
		return fmt.Errorf("%w: bootstrap resamples %d must be >= 0", ErrConfig, c.Bootstrap)
	case c.IBSPoints < 2:
		return fmt.Errorf("%w: integrated Brier grid of %d points needs at least 2", ErrConfig, c.IBSPoints)
	case c.CalibrationBins < 1:
		return fmt.Errorf("%w: calibration bins %d must be >= 1", ErrConfig, c.CalibrationBins)
	case !(c.SurvivalMin >= 0 && c.SurvivalMin < c.SurvivalMax && c.SurvivalMax <= 1):
		return fmt.Errorf("%w: survival clip [%v, %v] must satisfy 0 <= min < max <= 1",
			ErrConfig, c.SurvivalMin, c.SurvivalMax)
	}
	return c.RSF.validate()
}
