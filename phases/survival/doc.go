// Package survival is Phase 2 of the pipeline: a penalised Cox proportional
// hazards model of churn and its evaluation metrics, and the 6-month
// customer lifetime value (CLV) model built on the Cox survival curves. A
// random survival forest is evaluated beside the Cox model for comparison.
//
// Times are tenures in months and money is in dollars throughout.
//
// # Cox model
//
// Covariates are the processed features except tenure, standardised with the
// training mean and the sample standard deviation (divisor n-1):
//
//	z_ij = (x_ij - mean_j) / sd_j
//
// The coefficients b maximise the Efron log partial likelihood with a ridge
// penalty that scales with the number n of training rows:
//
//	pl(b) = sum_k [ sum_{i in D_k} z_i.b
//	                - sum_{l=0}^{d_k-1} log( S0(R_k) - (l/d_k) S0(D_k) ) ]
//	        - (n lambda / 2) ||b||^2
//
// where k runs over the distinct event times t_k, D_k are the d_k customers
// who churned at t_k, R_k are the customers with tenure >= t_k, and
// S0(A) = sum_{i in A} exp(z_i.b). Newton-Raphson with step halving finds
// the maximum. The baseline cumulative hazard is the Breslow estimator at
// the centred covariates,
//
//	H0(t) = sum_{t_k <= t} d_k / S0(R_k),   S(t | x) = exp(-H0(t) exp(z.b)).
//
// With lambda = 0 and no ties in time this is the ordinary Cox partial
// likelihood. R's survival package (coxph with ties = "efron" and a ridge
// term of theta = n lambda on pre-standardised columns) maximises the same
// objective. The tests compare against survival 3.5-3.
//
// # Metrics
//
// Harrell's concordance index measures how well the risk score orders
// churn times. The Brier score at time t uses inverse probability of
// censoring weights from a Kaplan-Meier estimate G of the censoring
// distribution, fitted on the training split:
//
//	BS(t) = (1/n) sum_i [ S(t|x_i)^2 1{T_i <= t, E_i = 1} / G(T_i-)
//	                      + (1 - S(t|x_i))^2 1{T_i > t} / G(t) ]
//
// The integrated Brier score is the trapezoidal mean of BS over a grid of
// times. Every time-dependent metric is evaluated only where G(t) > 0 and t
// lies inside the observed follow-up, so none of them is NaN.
//
// # CLV
//
// The 6-month value of a customer is
//
//	CLV6 = S(6 | x) x MonthlyCharges x 6   (dollars)
//
// with S(6 | x) clipped to [0.01, 0.99]. A regression model, plugged in as a
// learn.FitFunc and by default boosted trees with CLVParams, predicts CLV6
// from the features that do not leak it: tenure and MonthlyCharges (and
// anything named after them or after TotalCharges) are rejected by
// AuditLeakage before the fit.
//
// # Random survival forest
//
// FitRSF grows trees on bootstrap samples with log-rank splits over
// floor(sqrt(p)) features drawn per split, and keeps the Nelson-Aalen
// cumulative hazard in each leaf. Its C-index, Brier score and integrated
// Brier score are reported under Metrics.RSF; nothing downstream uses it.
package survival
