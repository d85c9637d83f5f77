// Package gbt fits gradient-boosted regression trees on histograms of
// binned features, for squared-error regression and binary classification.
//
// Each feature is cut into at most 255 bins at quantiles of its training
// values, and every tree is grown on per-bin sums of the first and second
// derivatives of the loss. A split is scored by its second-order gain and
// each leaf gets the Newton weight
//
//	gain = G_L^2/(H_L+lambda) + G_R^2/(H_R+lambda) - G^2/(H+lambda)
//	w    = -G/(H+lambda)
//
// where G and H sum the derivatives over the rows of a node. The gain is
// twice the drop of the second-order Taylor approximation of the training
// loss, with an L2 penalty lambda/2 w^2 per leaf. Missing values (NaN) go
// to the side of each split that gave the larger gain in training.
//
// Trees grow depth-wise, or leaf-wise when Params.MaxLeaves is set. Rows
// and features can be subsampled per tree with a seeded generator. The
// histograms are built by runtime.GOMAXPROCS goroutines by default, and a
// fit depends only on its data and Params, not on the goroutine count.
//
// Features that are never off their default bin in the same row, such as
// the one-hot columns of a categorical variable, share one histogram
// column (exclusive feature bundling). On one-hot data this divides the
// histogram work by about the number of levels per variable.
//
// Search is a seeded random search over a SearchSpace, scored by k-fold
// cross-validation of the training loss, with early stopping on each
// held-out fold. The data are binned once for all trials and folds, and
// the fits run in parallel.
//
// Fitter adapts the package to learn.FitFunc and Selector to
// learn.SelectFunc, so the pipeline phases can use boosted trees, tuned or
// not, in place of the linear learners.
package gbt
