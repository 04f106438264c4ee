package source

import (
	"context"
	"errors"
	"strings"
	"testing"
)

type recSink struct {
	pages    int
	problems []string
}

func (s *recSink) Page(string, int64)                   { s.pages++ }
func (s *recSink) Record(context.Context, Record) error { return nil }
func (s *recSink) Problem(p Problem)                    { s.problems = append(s.problems, p.Message) }

func TestPages(t *testing.T) {
	type page struct {
		n     int
		total int64
	}
	for name, tc := range map[string]struct {
		pages    []page
		done     bool
		err      string
		problems int
	}{
		"to the total":       {pages: []page{{10, 25}, {10, 25}, {5, 25}}, done: true},
		"exact multiple":     {pages: []page{{10, 20}, {10, 20}}, done: true},
		"no total, short":    {pages: []page{{10, -1}, {3, -1}}, done: true},
		"no total, empty":    {pages: []page{{10, -1}, {0, -1}}, done: true},
		"empty before total": {pages: []page{{10, 30}, {0, 30}}, done: true, err: "empty page after 10 datasets, before the declared count 30"},
		"silent row cap":     {pages: []page{{10, 30}, {7, 30}}, done: true, err: "silent row cap"},
		"total changes":      {pages: []page{{10, 30}, {10, 20}}, done: true, problems: 1},
		"goes on":            {pages: []page{{10, 30}}, done: false},
	} {
		p, sink := NewPages("count"), &recSink{}
		var done bool
		var err error
		for _, pg := range tc.pages {
			done, err = p.After(sink, "u", pg.n, 10, pg.total)
			if done || err != nil {
				break
			}
		}
		var se *Error
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tc.err != "" && (!errors.As(err, &se) || se.Kind != KindPaging || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: %v, want a paging error with %q", name, err, tc.err)
		}
		if done != tc.done || len(sink.problems) != tc.problems || sink.pages == 0 {
			t.Errorf("%s: done %v, problems %v, pages %d", name, done, sink.problems, sink.pages)
		}
	}
}
