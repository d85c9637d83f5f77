// Package learn defines how the pipeline plugs base learners into its
// phases, and provides the linear ones: ridge regression and L2-penalised
// logistic regression.
//
// A phase receives a FitFunc in its config, so a linear model and a boosted
// tree ensemble are interchangeable without changing the phase code.
package learn

import (
	"context"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// FitFunc fits a model on the rows of x with targets y and returns its
// predictor. Classifiers take 0/1 targets.
type FitFunc func(ctx context.Context, x *mat.Dense, y []float64) (PredictFunc, error)

// PredictFunc returns one prediction per row of x: a probability of the
// positive class for classifiers, a value in target units for regressors.
type PredictFunc func(x *mat.Dense) []float64

// ErrEmpty is returned when a model is fitted on no rows or no features.
var ErrEmpty = errors.New("learn: no rows or no features to fit")

// scaler standardises columns to training mean 0 and standard deviation 1.
// Constant columns keep scale 1 so they become all-zero and get no weight.
type scaler struct{ mean, scale []float64 }

func fitScaler(x *mat.Dense) scaler {
	n, p := x.Dims()
	s := scaler{mean: make([]float64, p), scale: make([]float64, p)}
	col := make([]float64, n)
	for j := 0; j < p; j++ {
		mat.Col(col, j, x)
		var sum float64
		for _, v := range col {
			sum += v
		}
		m := sum / float64(n)
		var ss float64
		for _, v := range col {
			ss += (v - m) * (v - m)
		}
		sd := math.Sqrt(ss / float64(n))
		if sd < 1e-12 {
			sd = 1
		}
		s.mean[j], s.scale[j] = m, sd
	}
	return s
}

func (s scaler) apply(x *mat.Dense) *mat.Dense {
	n, p := x.Dims()
	z := mat.NewDense(n, p, nil)
	for i := 0; i < n; i++ {
		src, dst := x.RawRowView(i), z.RawRowView(i)
		for j, v := range src {
			dst[j] = (v - s.mean[j]) / s.scale[j]
		}
	}
	return z
}

// linear evaluates b0 + z.b on standardised rows.
func linear(s scaler, b0 float64, b []float64, x *mat.Dense) []float64 {
	z := s.apply(x)
	n, _ := z.Dims()
	out := make([]float64, n)
	for i := 0; i < n; i++ {
		out[i] = b0 + floats.Dot(z.RawRowView(i), b)
	}
	return out
}

func checkShape(x *mat.Dense, y []float64) error {
	n, p := x.Dims()
	if n == 0 || p == 0 {
		return ErrEmpty
	}
	if len(y) != n {
		return fmt.Errorf("learn: %d rows but %d targets", n, len(y))
	}
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("learn: target %d is %v", i, v)
		}
	}
	return nil
}

// Ridge returns a FitFunc for least squares with an L2 penalty on the
// coefficients of standardised features:
//
//	minimise  sum_i (y_i - b0 - z_i.b)^2 + alpha ||b||^2
//
// The intercept b0 is not penalised. alpha must be >= 0; alpha > 0 keeps
// the normal equations solvable when one-hot columns are collinear.
func Ridge(alpha float64) FitFunc {
	if alpha < 0 || math.IsNaN(alpha) {
		panic(fmt.Sprintf("learn: ridge alpha %v must be >= 0", alpha))
	}
	return func(ctx context.Context, x *mat.Dense, y []float64) (PredictFunc, error) {
		if err := checkShape(x, y); err != nil {
			return nil, err
		}
		s := fitScaler(x)
		z := s.apply(x)
		_, p := z.Dims()
		var ybar float64
		for _, v := range y {
			ybar += v
		}
		ybar /= float64(len(y))
		yc := make([]float64, len(y))
		for i, v := range y {
			yc[i] = v - ybar
		}

		// Centred columns make the intercept the target mean, so only b
		// needs the penalised normal equations (Z'Z + alpha I) b = Z'y.
		var gram mat.SymDense
		gram.SymOuterK(1, z.T())
		for j := 0; j < p; j++ {
			gram.SetSym(j, j, gram.At(j, j)+alpha+1e-9)
		}
		var rhs mat.VecDense
		rhs.MulVec(z.T(), mat.NewVecDense(len(yc), yc))
		var chol mat.Cholesky
		if ok := chol.Factorize(&gram); !ok {
			return nil, errors.New("learn: ridge normal equations are not positive definite; increase alpha")
		}
		var b mat.VecDense
		if err := chol.SolveVecTo(&b, &rhs); err != nil {
			return nil, fmt.Errorf("learn: ridge solve: %w", err)
		}
		coef := mat.Col(nil, 0, &b)
		for _, v := range coef {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, errors.New("learn: ridge produced a non-finite coefficient; increase alpha")
			}
		}
		return func(x *mat.Dense) []float64 { return linear(s, ybar, coef, x) }, nil
	}
}

// Logistic returns a FitFunc for L2-penalised logistic regression on
// standardised features, with the penalty convention of scikit-learn:
//
//	minimise  (1/2) ||b||^2 + C sum_i logloss(y_i, sigmoid(b0 + z_i.b))
//
// C > 0 is the inverse regularisation strength; the intercept is not
// penalised. The fit uses L-BFGS from gonum/optimize. Predictions are
// probabilities of y = 1.
func Logistic(c float64) FitFunc {
	if !(c > 0) || math.IsInf(c, 0) {
		panic(fmt.Sprintf("learn: logistic C %v must be positive and finite", c))
	}
	return func(ctx context.Context, x *mat.Dense, y []float64) (PredictFunc, error) {
		if err := checkShape(x, y); err != nil {
			return nil, err
		}
		for i, v := range y {
			if v != 0 && v != 1 {
				return nil, fmt.Errorf("learn: logistic target %d is %v, want 0 or 1", i, v)
			}
		}
		s := fitScaler(x)
		z := s.apply(x)
		n, p := z.Dims()
		eta := make([]float64, n)
		// score sets eta to the linear predictor at w. L-BFGS requests the
		// value and the gradient at the same point, so the last point is
		// kept and not scored twice.
		var last []float64
		score := func(w []float64) {
			if last != nil && floats.Equal(last, w) {
				return
			}
			for i := 0; i < n; i++ {
				eta[i] = w[p] + floats.Dot(z.RawRowView(i), w[:p])
			}
			last = append(last[:0], w...)
		}

		// w holds b followed by the intercept b0.
		prob := optimize.Problem{
			Func: func(w []float64) float64 {
				score(w)
				var f float64
				for i, e := range eta {
					// log(1 + exp(e)) - y e, written to avoid overflow.
					f += math.Max(e, 0) + math.Log1p(math.Exp(-math.Abs(e))) - y[i]*e
				}
				return 0.5*dot(w[:p], w[:p]) + c*f
			},
			Grad: func(g, w []float64) {
				score(w)
				for j := range g {
					g[j] = 0
				}
				for i, e := range eta {
					r := c * (sigmoid(e) - y[i])
					floats.AddScaled(g[:p], r, z.RawRowView(i))
					g[p] += r
				}
				for j := 0; j < p; j++ {
					g[j] += w[j]
				}
			},
		}
		w0 := make([]float64, p+1)
		res, err := optimize.Minimize(prob, w0, &optimize.Settings{
			GradientThreshold: 1e-6,
			MajorIterations:   500,
		}, &optimize.LBFGS{})
		if err != nil && res == nil {
			return nil, fmt.Errorf("learn: logistic fit: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		w := res.X
		for _, v := range w {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, errors.New("learn: logistic fit produced a non-finite coefficient")
			}
		}
		coef, b0 := append([]float64(nil), w[:p]...), w[p]
		return func(x *mat.Dense) []float64 {
			out := linear(s, b0, coef, x)
			for i, e := range out {
				out[i] = sigmoid(e)
			}
			return out
		}, nil
	}
}

func sigmoid(e float64) float64 {
	if e >= 0 {
		return 1 / (1 + math.Exp(-e))
	}
	x := math.Exp(e)
	return x / (1 + x)
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
