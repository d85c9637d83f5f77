package survival

import "errors"

// ErrNoEvents is returned when the training split has no churn event, so
// the partial likelihood and the baseline hazard are undefined.
var ErrNoEvents = errors.New("survival: no events in the training data")

// ErrNoFeatures is returned when no usable covariate is left after tenure
// and the constant columns are dropped.
var ErrNoFeatures = errors.New("survival: no non-constant features to fit")

// ErrSingular is returned when the penalised information matrix is not
// positive definite, which happens with lambda = 0 and collinear columns.
var ErrSingular = errors.New("survival: information matrix is not positive definite")

// ErrNonFinite is returned when a fit or an input produces NaN or infinity.
var ErrNonFinite = errors.New("survival: non-finite value")

// ErrLeakage is returned by AuditLeakage when a model feature leaks the
// CLV target.
var ErrLeakage = errors.New("survival: leaking feature")

// ErrConfig is returned by Run for an invalid Config.
var ErrConfig = errors.New("survival: invalid config")
