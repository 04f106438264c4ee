// Package sourcetest helps test protocol adapters.
package sourcetest

import (
	"context"
	"sync"

	"github.com/opendatafrance/moisson/harvester/source"
)

// Sink records what an adapter hands over; safe for adapters that call it
// from several goroutines.
type Sink struct {
	mu       sync.Mutex
	Recs     []source.Record
	Problems []source.Problem
	Pages    []string
	Totals   []int64 // the declared total with each page
	Declared int64   // the last declared total
}

// Page records a page.
func (s *Sink) Page(u string, total int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Pages, s.Totals, s.Declared = append(s.Pages, u), append(s.Totals, total), total
}

// Record records a dataset.
func (s *Sink) Record(_ context.Context, r source.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Recs = append(s.Recs, r)
	return nil
}

// Problem records a problem.
func (s *Sink) Problem(p source.Problem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Problems = append(s.Problems, p)
}

// Count counts the datasets an adapter hands over and keeps nothing but
// the last problem: a benchmark's sink, whose figures must not include
// keeping the records. Not safe for concurrent use.
type Count struct {
	N    int
	Last string // the last problem's message
}

// Page does nothing.
func (c *Count) Page(string, int64) {}

// Record counts a dataset.
func (c *Count) Record(context.Context, source.Record) error { c.N++; return nil }

// Problem keeps the message.
func (c *Count) Problem(p source.Problem) { c.Last = p.Message }
