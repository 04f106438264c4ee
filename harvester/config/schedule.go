package config

import (
	"hash/fnv"
	"time"

	"github.com/robfig/cron/v3"
)

// Next is when a source is next due, given when its last run started (zero:
// never run, so due now). The jitter is stable per source (a hash of its
// id), so workers agree on it and sources on the same schedule spread out.
func (s *Source) Next(last time.Time, policy Policy) time.Time {
	policy = policy.WithDefaults()
	if last.IsZero() {
		return time.Time{}
	}
	if s.Cron != "" {
		sched, err := cron.ParseStandard(s.Cron)
		if err == nil {
			next := sched.Next(last.UTC())
			return next.Add(s.jitter(time.Hour, policy.Jitter))
		}
	}
	every := time.Duration(s.Interval)
	if every <= 0 {
		every = time.Duration(policy.Interval)
	}
	return last.Add(every).Add(s.jitter(every, policy.Jitter))
}

// jitter is a stable offset in [0, share×span) for this source.
func (s *Source) jitter(span time.Duration, share float64) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(s.ID))
	max := int64(float64(span) * share)
	if max <= 0 {
		return 0
	}
	return time.Duration(h.Sum64() % uint64(max))
}

// Schedule describes a source's schedule for people.
func (s *Source) Schedule(policy Policy) string {
	if s.Cron != "" {
		return "cron " + s.Cron + " (UTC)"
	}
	every := time.Duration(s.Interval)
	if every <= 0 {
		every = time.Duration(policy.WithDefaults().Interval)
	}
	return "every " + every.String()
}
