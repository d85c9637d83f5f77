package survival

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// coxData is a standardised design sorted by descending time, so that a
// single pass that adds rows to running sums visits every risk set.
type coxData struct {
	n, p   int
	z      []float64 // row-major n x p, rows in descending time order
	time   []float64 // months, descending
	event  []bool
	groups []timeGroup // distinct times, descending

	// eventSum is the sum of z_i over all events: the constant part of the
	// gradient of the partial likelihood.
	eventSum []float64
}

// timeGroup is the block of sorted rows [start, end) sharing one time.
type timeGroup struct {
	start, end int
	events     int
	time       float64
}

// newCoxData sorts the rows of z (n x p, row-major) by descending time and
// groups tied times. The caller has checked lengths and finiteness.
func newCoxData(z []float64, n, p int, time, event []float64) *coxData {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return time[order[a]] > time[order[b]] })

	d := &coxData{
		n: n, p: p,
		z:        make([]float64, n*p),
		time:     make([]float64, n),
		event:    make([]bool, n),
		eventSum: make([]float64, p),
	}
	for r, i := range order {
		copy(d.z[r*p:(r+1)*p], z[i*p:(i+1)*p])
		d.time[r] = time[i]
		d.event[r] = event[i] != 0
		if d.event[r] {
			for j := 0; j < p; j++ {
				d.eventSum[j] += z[i*p+j]
			}
		}
	}
	for start := 0; start < n; {
		end := start
		g := timeGroup{start: start, time: d.time[start]}
		for end < n && d.time[end] == g.time {
			if d.event[end] {
				g.events++
			}
			end++
		}
		g.end = end
		d.groups = append(d.groups, g)
		start = end
	}
	return d
}

// coxEval is the unpenalised Efron log partial likelihood at some b, with
// its gradient and the observed information (minus the Hessian) when
// derivatives were requested.
type coxEval struct {
	logLik float64
	grad   []float64
	info   *mat.SymDense
}

// linearPredictor returns eta_i = z_i.b for the sorted rows and the
// largest eta. The sums use exp(eta_i - shift), which is at most 1 and so
// cannot overflow.
func (d *coxData) linearPredictor(b []float64) (eta []float64, shift float64) {
	eta = make([]float64, d.n)
	shift = math.Inf(-1)
	for i := 0; i < d.n; i++ {
		row := d.z[i*d.p : (i+1)*d.p]
		var s float64
		for j, v := range row {
			s += v * b[j]
		}
		eta[i] = s
		shift = max(shift, s)
	}
	return eta, shift
}

// evaluate computes the Efron log partial likelihood at b, and also its
// gradient and information when derivs is true. One pass over the rows
// costs O(n p^2) with derivatives and O(n p) without.
//
// For an event time with d tied events the Efron correction replaces the
// risk-set sums S by S(R) - (l/d) S(D), l = 0..d-1. The sums over l of the
// gradient and information terms factor into scalar weights:
//
//	a  = sum_l 1/den_l        c  = sum_l f_l/den_l         (f_l = l/d)
//	a2 = sum_l 1/den_l^2      c2 = sum_l f_l/den_l^2       e2 = sum_l f_l^2/den_l^2
//	grad -= a S1(R) - c S1(D)
//	info += a S2(R) - c S2(D) - a2 S1R S1R' + c2 (S1R S1D' + S1D S1R') - e2 S1D S1D'
func (d *coxData) evaluate(b []float64, derivs bool) coxEval {
	p := d.p
	eta, shift := d.linearPredictor(b)
	var out coxEval
	var s0R float64
	var s1R, s1D, s2R, s2D, infoUpper []float64
	if derivs {
		out.grad = make([]float64, p)
		copy(out.grad, d.eventSum)
		s1R, s1D = make([]float64, p), make([]float64, p)
		s2R, s2D = make([]float64, p*p), make([]float64, p*p)
		infoUpper = make([]float64, p*p)
	}

	for _, g := range d.groups {
		var s0D float64
		if derivs {
			clear(s1D)
			clear(s2D)
		}

		// Add the whole group to the risk set; its events also form D.
		for i := g.start; i < g.end; i++ {
			w := math.Exp(eta[i] - shift)
			s0R += w
			if d.event[i] {
				out.logLik += eta[i]
				s0D += w
			}
			if !derivs {
				continue
			}
			row := d.z[i*p : (i+1)*p]
			addWeighted(s1R, s2R, row, w)
			if d.event[i] {
				addWeighted(s1D, s2D, row, w)
			}
		}
		if g.events == 0 {
			continue
		}

		// Efron's correction over the tied events of this time.
		var a, c, a2, c2, e2 float64
		dk := float64(g.events)
		for l := 0; l < g.events; l++ {
			f := float64(l) / dk
			den := s0R - f*s0D
			out.logLik -= math.Log(den) + shift
			a += 1 / den
			c += f / den
			a2 += 1 / (den * den)
			c2 += f / (den * den)
			e2 += f * f / (den * den)
		}
		if !derivs {
			continue
		}
		for j := 0; j < p; j++ {
			out.grad[j] -= a*s1R[j] - c*s1D[j]
			for k := j; k < p; k++ {
				infoUpper[j*p+k] += a*s2R[j*p+k] - c*s2D[j*p+k] -
					a2*s1R[j]*s1R[k] + c2*(s1R[j]*s1D[k]+s1D[j]*s1R[k]) - e2*s1D[j]*s1D[k]
			}
		}
	}
	if derivs {
		out.info = mat.NewSymDense(p, nil)
		for j := 0; j < p; j++ {
			for k := j; k < p; k++ {
				out.info.SetSym(j, k, infoUpper[j*p+k])
			}
		}
	}
	return out
}

// addWeighted adds w*row to s1 and the upper triangle of w*row*row' to s2.
func addWeighted(s1, s2, row []float64, w float64) {
	p := len(row)
	for j, xj := range row {
		wx := w * xj
		s1[j] += wx
		if wx == 0 {
			continue
		}
		upper := s2[j*p+j : (j+1)*p]
		for k, xk := range row[j:] {
			upper[k] += wx * xk
		}
	}
}

// breslow returns the distinct event times in ascending order and the
// Breslow cumulative baseline hazard at each, for the coefficients b.
func (d *coxData) breslow(b []float64) (times, cumHazard []float64) {
	eta, shift := d.linearPredictor(b)
	var s0R float64
	var revTimes, revHazard []float64
	for _, g := range d.groups {
		for i := g.start; i < g.end; i++ {
			s0R += math.Exp(eta[i] - shift)
		}
		if g.events > 0 {
			// d / S0(R), with S0 rescaled back by exp(shift).
			revTimes = append(revTimes, g.time)
			revHazard = append(revHazard, float64(g.events)*math.Exp(-shift)/s0R)
		}
	}
	times = make([]float64, len(revTimes))
	cumHazard = make([]float64, len(revTimes))
	var cum float64
	for k := range revTimes {
		r := len(revTimes) - 1 - k
		cum += revHazard[r]
		times[k] = revTimes[r]
		cumHazard[k] = cum
	}
	return times, cumHazard
}
