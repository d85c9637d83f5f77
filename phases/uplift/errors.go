package uplift

import "errors"

// ErrInvalidInput is returned by Run when the frames, S(6|x) or CLV
// predictions are missing, misaligned or not finite.
var ErrInvalidInput = errors.New("invalid uplift input")

// ErrSingleArm is returned by Run when the training split has too few
// treated or control customers, or too few retained or churned ones, to fit
// and cross-validate the models.
var ErrSingleArm = errors.New("training split lacks one treatment arm or outcome")

// ErrNonFinite is returned by Run when a model produces a NaN or infinite
// prediction, so that no such value reaches an artifact.
var ErrNonFinite = errors.New("non-finite model output")

// ErrInvalidConfig is returned by Run when a Config setting is out of range.
var ErrInvalidConfig = errors.New("invalid uplift config")
