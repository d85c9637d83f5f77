package survival

import (
	"errors"
	"fmt"
	"log/slog"
	"math"

	"gonum.org/v1/gonum/mat"
)

// SummaryRow describes one Cox coefficient.
type SummaryRow struct {
	Feature string `json:"feature"`
	// Coef and SE are on the standardised scale (per training standard
	// deviation); CoefOriginal and SEOriginal are per unit of the feature.
	Coef         float64 `json:"coef"`
	CoefOriginal float64 `json:"coef_original"`
	// HazardRatio is exp(CoefOriginal), the hazard multiplier per unit of
	// the feature. The exponent is capped at 700 so the ratio stays finite.
	HazardRatio float64 `json:"hazard_ratio"`
	SE          float64 `json:"se"`
	SEOriginal  float64 `json:"se_original"`
	// Z is Coef/SE and P its two-sided normal p-value. The standard error
	// comes from the inverse of the penalised information matrix, so it
	// describes the ridge estimate, not an unpenalised one.
	Z float64 `json:"z"`
	P float64 `json:"p"`
	// Aliased is true when the standardised column is an exact linear
	// combination of the columns before it (with the intercept) in the
	// training design. This is the meaning R gives the word: these are the
	// columns an unpenalised fit could not estimate, p minus the rank of
	// the design. For one-hot groups that sum to 1 it marks one column per
	// group, and it marks every "No internet service" copy of
	// InternetService_No.
	Aliased bool `json:"aliased"`
	// Collinear is true for every column that takes part in an exact
	// linear dependency, whatever the column order: both gender columns,
	// every column of a complete one-hot group. Only the ridge penalty
	// identifies these coefficients, so the coefficient, hazard ratio, z
	// and p-value of a collinear column describe how the penalty shared
	// the effect within the group, not the effect of that level.
	Collinear bool `json:"collinear"`
}

// aliasTolerance is the relative size below which a residual sum of
// squares or an eigenvalue of the training correlation matrix counts as
// exact collinearity. Exact one-hot dependencies give about 1e-15, while
// a column that is merely close to a combination of others (such as
// MonthlyCharges, which the services nearly determine) stays far above.
const aliasTolerance = 1e-9

// summarise builds the summary table from the penalised information at
// the optimum and the standardised training design z (n x p, row-major).
func summarise(m *CoxModel, info *mat.SymDense, z []float64, n, p int, log *slog.Logger) ([]SummaryRow, error) {
	var chol mat.Cholesky
	if ok := chol.Factorize(info); !ok {
		return nil, fmt.Errorf("invert information: %w", ErrSingular)
	}
	var cov mat.SymDense
	if err := chol.InverseTo(&cov); err != nil {
		return nil, fmt.Errorf("invert information: %w (%v)", ErrSingular, err)
	}
	aliased, rank := aliasedColumns(z, n, p)
	collinear, err := collinearColumns(z, n, p)
	if err != nil {
		return nil, err
	}

	rows := make([]SummaryRow, p)
	var names []string
	for k := 0; k < p; k++ {
		variance := cov.At(k, k)
		if !(variance > 0) || math.IsInf(variance, 0) {
			return nil, fmt.Errorf("%w: variance of %q is %v", ErrNonFinite, m.Features[k], variance)
		}
		se := math.Sqrt(variance)
		coef := m.Coef[k]
		zval := coef / se
		orig := coef / m.Scales[k]
		rows[k] = SummaryRow{
			Feature:      m.Features[k],
			Coef:         coef,
			CoefOriginal: orig,
			HazardRatio:  math.Exp(max(min(orig, maxExponent), -maxExponent)),
			SE:           se,
			SEOriginal:   se / m.Scales[k],
			Z:            zval,
			P:            math.Erfc(math.Abs(zval) / math.Sqrt2),
			Aliased:      aliased[k],
			Collinear:    collinear[k],
		}
		if aliased[k] {
			names = append(names, m.Features[k])
		}
	}
	if len(names) > 0 {
		log.Info("aliased cox features", "rank", rank, "features", p, "aliased", names)
	}
	return rows, nil
}

// aliasedColumns marks the columns of the centred design z (n x p,
// row-major) that lie in the span of the columns before them, by modified
// Gram-Schmidt in column order with one re-orthogonalisation, and returns
// the rank. A column is aliased when less than aliasTolerance of its sum
// of squares is left after the projection.
func aliasedColumns(z []float64, n, p int) (aliased []bool, rank int) {
	design := mat.NewDense(n, p, z)
	aliased = make([]bool, p)
	var basis []*mat.VecDense
	for j := 0; j < p; j++ {
		v := mat.VecDenseCopyOf(design.ColView(j))
		norm2 := mat.Dot(v, v)
		for pass := 0; pass < 2; pass++ {
			for _, q := range basis {
				v.AddScaledVec(v, -mat.Dot(q, v), q)
			}
		}
		residual := mat.Dot(v, v)
		if residual <= aliasTolerance*norm2 {
			aliased[j] = true
			continue
		}
		v.ScaleVec(1/math.Sqrt(residual), v)
		basis = append(basis, v)
	}
	return aliased, len(basis)
}

// collinearColumns marks the columns of the centred design z that take
// part in an exact linear dependency. Column j does when the null space of
// z'z has a vector with a non-zero entry j: the squared norm of e_j
// projected onto the null space exceeds 1e-6. The null space is spanned by
// the eigenvectors whose eigenvalue is below aliasTolerance times the
// largest one.
func collinearColumns(z []float64, n, p int) ([]bool, error) {
	design := mat.NewDense(n, p, z)
	var gram mat.SymDense
	gram.SymOuterK(1/float64(n-1), design.T())
	var eig mat.EigenSym
	if ok := eig.Factorize(&gram, true); !ok {
		return nil, errors.New("eigen decomposition of the design correlation failed")
	}
	values := eig.Values(nil)
	var vectors mat.Dense
	eig.VectorsTo(&vectors)
	largest := 0.0
	for _, v := range values {
		largest = max(largest, v)
	}
	weight := make([]float64, p)
	for c, v := range values {
		if v > aliasTolerance*largest {
			continue
		}
		for j := 0; j < p; j++ {
			x := vectors.At(j, c)
			weight[j] += x * x
		}
	}
	collinear := make([]bool, p)
	for j := range collinear {
		collinear[j] = weight[j] > 1e-6
	}
	return collinear, nil
}
