package bench

import (
	"math"
	"slices"
	"time"
)

// Dist summarises a sample of durations, in milliseconds so the JSON reads
// without unit conversions.
type Dist struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean_ms"`
	Min  float64 `json:"min_ms"`
	P50  float64 `json:"p50_ms"`
	P95  float64 `json:"p95_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
}

// distOf summarises sample (which it sorts).
func distOf(sample []time.Duration) Dist {
	if len(sample) == 0 {
		return Dist{}
	}
	slices.Sort(sample)
	var sum time.Duration
	for _, d := range sample {
		sum += d
	}
	return Dist{
		N:    len(sample),
		Mean: ms(sum / time.Duration(len(sample))),
		Min:  ms(sample[0]),
		P50:  ms(percentile(sample, 50)),
		P95:  ms(percentile(sample, 95)),
		P99:  ms(percentile(sample, 99)),
		Max:  ms(sample[len(sample)-1]),
	}
}

// percentile is the nearest-rank p-th percentile of a sorted sample: the
// smallest value at least p% of the sample is at or below.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func ms(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// slope is the least-squares slope of y over x; 0 when x does not vary.
func slope(x, y []float64) float64 {
	n := float64(len(x))
	if len(x) < 2 || len(x) != len(y) {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
		sxx += x[i] * x[i]
		sxy += x[i] * y[i]
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / den
}
