# Reference values for the survival package tests, from R's survival
# package (version printed below). Run from this directory:
#   Rscript coxph_reference.R
# It writes cox_ties.csv (60 rows, integer times with many ties) and prints
# the coefficients and log-likelihoods that cox_test.go compares against.
library(survival)
cat("survival", as.character(packageVersion("survival")), "\n")
set.seed(7)
n <- 60
d <- data.frame(
  id = sprintf("c%02d", 1:n),
  x1 = round(rnorm(n), 3),
  x2 = rbinom(n, 1, 0.4),
  x3 = sample(0:4, n, replace = TRUE)
)
rate <- 0.15 * exp(0.6 * d$x1 - 0.8 * d$x2 + 0.25 * d$x3)
t_event <- ceiling(rexp(n, rate))
t_cens <- sample(2:12, n, replace = TRUE)
d$time <- pmin(t_event, t_cens)
d$event <- as.integer(t_event <= t_cens)
write.csv(d[, c("id", "time", "event", "x1", "x2", "x3")], "cox_ties.csv", row.names = FALSE, quote = FALSE)

# Standardise with the sample sd, as the Go code does, and fit the Efron
# partial likelihood with the ridge penalty theta/2 ||b||^2, theta = n lambda.
z <- scale(d[, c("x1", "x2", "x3")])
zd <- data.frame(time = d$time, event = d$event, z1 = z[, 1], z2 = z[, 2], z3 = z[, 3])
for (lambda in c(0, 0.1)) {
  if (lambda == 0) {
    f <- coxph(Surv(time, event) ~ z1 + z2 + z3, data = zd, ties = "efron",
               control = coxph.control(eps = 1e-12, toler.chol = 1e-13, iter.max = 100))
    pen <- 0
  } else {
    f <- coxph(Surv(time, event) ~ ridge(z1, z2, z3, theta = n * lambda, scale = FALSE),
               data = zd, ties = "efron", control = coxph.control(eps = 1e-12, toler.chol = 1e-13, iter.max = 100))
    pen <- sum(coef(f)^2) * n * lambda / 2
  }
  cat("lambda", lambda, "\n")
  cat("coef", format(coef(f), digits = 15), "\n")
  cat("se", format(sqrt(diag(f$var)), digits = 15), "\n")
  cat("loglik_null", format(f$loglik[1], digits = 15), "\n")
  cat("loglik", format(f$loglik[2], digits = 15), " penalised", format(f$loglik[2] - pen, digits = 15), "\n")
  # Breslow (ctype = 1) cumulative hazard at the means, which are 0 here.
  sf <- survfit(f, newdata = data.frame(z1 = 0, z2 = 0, z3 = 0), ctype = 1)
  cat("breslow_times", sf$time, "\n")
  cat("breslow", format(sf$cumhaz, digits = 15), "\n")
  cat("concordance", format(concordance(Surv(time, event) ~ predict(f), data = zd,
                                        reverse = TRUE)$concordance, digits = 15), "\n")
}
