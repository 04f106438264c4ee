package source

import "fmt"

// Pages follows an offset-paged walk (CKAN rows/start, ODS limit/offset,
// Data Fair size/page…) against the total the source declares, so every
// adapter detects the same anomalies the same way: a total that changes
// during the walk (reported), an empty page before the total, and a page
// shorter than asked before the total (a silent row cap) — both fatal.
type Pages struct {
	Declared int64  // what the source declares, -1 while unknown
	Read     int    // datasets read so far (the next offset)
	Total    string // how the source calls its total, for messages ("count", "total_count")
}

// NewPages starts a walk.
func NewPages(total string) *Pages { return &Pages{Declared: -1, Total: total} }

// After records a page of n datasets out of asked, whose answer declared
// total (-1 when it says nothing). It tells the sink the page was read and
// says whether the walk is over, or why it cannot go on.
func (p *Pages) After(sink Sink, u string, n, asked int, total int64) (done bool, err error) {
	if total >= 0 {
		if p.Declared >= 0 && total != p.Declared {
			sink.Problem(Problem{Kind: KindPaging, URL: u,
				Message: fmt.Sprintf("declared %s changed during the walk: %d then %d", p.Total, p.Declared, total)})
		}
		p.Declared = total
	}
	sink.Page(u, p.Declared)
	p.Read += n
	short := p.Declared >= 0 && int64(p.Read) < p.Declared
	switch {
	case n == 0 && short:
		return true, &Error{Kind: KindPaging, URL: u,
			Err: fmt.Errorf("empty page after %d datasets, before the declared %s %d", p.Read, p.Total, p.Declared)}
	case n == 0:
		return true, nil
	case n < asked && short:
		return true, &Error{Kind: KindPaging, URL: u,
			Err: fmt.Errorf("page returned %d datasets of %d asked after %d, before the declared %s %d (silent row cap?)", n, asked, p.Read-n, p.Total, p.Declared)}
	case n < asked:
		return true, nil
	}
	return p.Declared >= 0 && int64(p.Read) >= p.Declared, nil
}
