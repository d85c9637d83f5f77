package optimize

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// renderCache holds the parts of the output files that depend only on
// the customers of the split, not on the selection. Every report of a
// Planner shares one, so a request only copies prepared bytes into its
// CRM export and walks a prepared order for its segment deep-dive. It is
// filled on first use and read-only afterwards.
type renderCache struct {
	once sync.Once

	// crmHeader is the CSV header line of the CRM export.
	crmHeader []byte
	// crmFields[i] is the CSV text of the first six columns of customer
	// row i, up to and including the segment, without a line end.
	crmFields [][]byte
	// crmPriority[i] is the priority of row i as text.
	crmPriority []string
	// crmOrder lists the rows by priority and then customer ID. The CRM
	// export lists the selected rows in this order, then the others.
	crmOrder []int

	// byRatio lists the eligible rows by v/cost descending, then v
	// descending, then customer ID: the order of the deep-dive lists.
	byRatio []int
}

// render returns the filled render cache of the report's customers.
func (r *Report) render() *renderCache {
	c := r.files
	if c == nil {
		c = &renderCache{}
	}
	c.once.Do(func() { c.fill(r.customers) })
	return c
}

// fill prepares the cache for customers, which are in table order.
func (c *renderCache) fill(customers []Customer) {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	// bytes.Buffer.Write returns no error, so neither do these csv calls.
	cw.Write(crmHeader)
	cw.Flush()
	c.crmHeader = slices.Clone(buf.Bytes())

	ends := make([]int, len(customers))
	buf.Reset()
	for i, cu := range customers {
		cw.Write([]string{
			cu.ID,
			strconv.FormatFloat(cu.CLV, 'f', 2, 64),
			strconv.FormatFloat(cu.Uplift, 'f', 6, 64),
			strconv.FormatFloat(dollars(cu.ValueCents), 'f', 2, 64),
			strconv.FormatFloat(dollars(cu.CostCents), 'f', 2, 64),
			cu.Segment.String(),
		})
		cw.Flush()
		ends[i] = buf.Len()
	}
	text := buf.Bytes()
	c.crmFields = make([][]byte, len(customers))
	start := 0
	for i, end := range ends {
		c.crmFields[i] = text[start : end-1] // without the "\n" that csv adds
		start = end
	}

	rank := denseRatioRanks(customers)
	c.crmPriority = make([]string, len(customers))
	for i, k := range rank {
		c.crmPriority[i] = strconv.Itoa(k)
	}
	c.crmOrder = make([]int, len(customers))
	for i := range c.crmOrder {
		c.crmOrder[i] = i
	}
	slices.SortFunc(c.crmOrder, func(i, j int) int {
		return cmp.Or(rank[i]-rank[j], strings.Compare(customers[i].ID, customers[j].ID), i-j)
	})

	for i, cu := range customers {
		if cu.Status == StatusEligible {
			c.byRatio = append(c.byRatio, i)
		}
	}
	slices.SortFunc(c.byRatio, func(i, j int) int {
		return cmp.Or(compareDeepDive(customers[i], customers[j]), i-j)
	})
}

// compareDeepDive orders customers by v/cost descending, then v
// descending, then ID ascending.
func compareDeepDive(a, b Customer) int {
	if r := compareRatios(b.ValueCents, b.CostCents, a.ValueCents, a.CostCents); r != 0 {
		return r
	}
	return cmp.Or(cmp.Compare(b.ValueCents, a.ValueCents), strings.Compare(a.ID, b.ID))
}

// writeCRM writes one row per customer of the split: the selected ones
// first, each group by priority and then customer ID. The recommendation
// and priority columns never need CSV quoting, so each row is the
// prepared text of its first six columns followed by those two.
func (r *Report) writeCRM(w io.Writer) error {
	c := r.render()
	size := len(c.crmHeader)
	for i, f := range c.crmFields {
		size += len(f) + len(RecommendNoTreat) + len(c.crmPriority[i]) + 3
	}
	out := make([]byte, 0, size)
	out = append(out, c.crmHeader...)
	for _, treat := range []bool{true, false} {
		recommendation := RecommendNoTreat
		if treat {
			recommendation = RecommendTreat
		}
		for _, i := range c.crmOrder {
			if r.selected[i] != treat {
				continue
			}
			out = append(out, c.crmFields[i]...)
			out = append(out, ',')
			out = append(out, recommendation...)
			out = append(out, ',')
			out = append(out, c.crmPriority[i]...)
			out = append(out, '\n')
		}
	}
	_, err := w.Write(out)
	return err
}

// priorities returns the dense rank of v/cost for every customer, 1 for the
// highest ratio. Equal ratios share a rank.
func (r *Report) priorities() []int { return denseRatioRanks(r.customers) }

// denseRatioRanks returns the dense rank of v/cost for every customer, 1
// for the highest ratio. Equal ratios share a rank.
func denseRatioRanks(customers []Customer) []int {
	order := make([]int, len(customers))
	for i := range order {
		order[i] = i
	}
	byRatio := func(i, j int) int {
		a, b := customers[i], customers[j]
		return -compareRatios(a.ValueCents, a.CostCents, b.ValueCents, b.CostCents)
	}
	slices.SortStableFunc(order, byRatio)
	rank := make([]int, len(customers))
	for k, i := range order {
		switch {
		case k == 0:
			rank[i] = 1
		case byRatio(order[k-1], i) == 0:
			rank[i] = rank[order[k-1]]
		default:
			rank[i] = rank[order[k-1]] + 1
		}
	}
	return rank
}
