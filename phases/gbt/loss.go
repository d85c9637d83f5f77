package gbt

import "math"

// minHessian keeps the logistic hessian p(1-p) positive when p rounds to
// 0 or 1.
const minHessian = 1e-16

// baseScoreClamp keeps the log-odds of the base score finite when every
// target has the same class.
const baseScoreClamp = 1e-12

// baseScore returns the constant raw score that minimises the loss: the
// mean of y for LossSquared, its log-odds for LossLogistic.
func baseScore(loss string, y []float64) float64 {
	var mean float64
	for _, v := range y {
		mean += v
	}
	mean /= float64(len(y))
	if loss == LossLogistic {
		q := min(max(mean, baseScoreClamp), 1-baseScoreClamp)
		return math.Log(q / (1 - q))
	}
	return mean
}

// computeGradients sets grad to the derivatives of the loss with respect
// to the raw scores. Squared error (F-y)^2/2 gives g = F - y, h = 1. The
// log-loss with p = sigmoid(F) gives g = p - y, h = p(1-p).
func computeGradients(loss string, grad []gradPair, score, y []float64, threads int) {
	rowsParallel(len(y), threads, func(lo, hi int) {
		if loss == LossLogistic {
			for i := lo; i < hi; i++ {
				p := sigmoid(score[i])
				grad[i] = gradPair{g: p - y[i], h: max(p*(1-p), minHessian)}
			}
			return
		}
		for i := lo; i < hi; i++ {
			grad[i] = gradPair{g: score[i] - y[i], h: 1}
		}
	})
}

// meanLoss returns the mean squared error for LossSquared, or the mean
// log-loss for LossLogistic, of raw scores against targets.
func meanLoss(loss string, score, y []float64) float64 {
	var sum float64
	for i, f := range score {
		if loss == LossLogistic {
			// log(1 + exp(F)) - y F, written to avoid overflow.
			sum += math.Max(f, 0) + math.Log1p(math.Exp(-math.Abs(f))) - y[i]*f
			continue
		}
		d := f - y[i]
		sum += d * d
	}
	return sum / float64(len(score))
}

// output maps a raw score to a prediction: itself for LossSquared, the
// probability sigmoid(F) for LossLogistic.
func output(loss string, f float64) float64 {
	if loss == LossLogistic {
		return sigmoid(f)
	}
	return f
}

func sigmoid(f float64) float64 {
	if f >= 0 {
		return 1 / (1 + math.Exp(-f))
	}
	e := math.Exp(f)
	return e / (1 + e)
}
