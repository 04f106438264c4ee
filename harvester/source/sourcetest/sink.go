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
