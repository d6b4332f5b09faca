package dav_test

import (
	"context"
	"testing"
	"time"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/kalends/kalends/testkit"
)

// TestAdvanceIndexHorizon: the first call appends the event, later ones
// only once the horizon is a step behind their clock, and the projections
// have applied each by the time the call returns.
func TestAdvanceIndexHorizon(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	ctx := context.Background()
	start := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	var appended []time.Time
	for _, c := range []struct {
		after time.Duration
		due   bool
	}{{0, true}, {time.Hour, false}, {20 * 24 * time.Hour, false}, {domain.IndexHorizonStep, true}, {domain.IndexHorizonStep + 24*time.Hour, false}} {
		now := start.Add(c.after)
		got, err := s.Backend.AdvanceIndexHorizon(ctx, eventlog.Metadata{Principal: eventlog.System, Time: now})
		if err != nil {
			t.Fatal(err)
		}
		if want := now.AddDate(domain.IndexHorizonYears, 0, 0); c.due && !got.Equal(want) || !c.due && !got.IsZero() {
			t.Fatalf("at %v: advanced through %v, want due %v", now, got, c.due)
		}
		if c.due {
			appended = append(appended, got)
		}
		v := s.Store.View()
		h, found, err := v.IndexHorizon()
		v.Close()
		if err != nil || !found || !h.Through.Equal(appended[len(appended)-1]) || h.Revision != eventlog.Revision(len(appended)-1) {
			t.Fatalf("at %v: the projections hold %+v (found %v, %v), want %v at revision %d", now, h, found, err, appended[len(appended)-1], len(appended)-1)
		}
	}
	var logged []time.Time
	err := s.Log.ReadStream(ctx, domain.IndexHorizonStream, 0, func(r eventlog.Record) error {
		ev, err := domain.Decode(r.Type, r.SchemaVersion, r.Data)
		if err == nil {
			logged = append(logged, ev.(*domain.IndexHorizonAdvanced).Through)
		}
		return err
	})
	if err != nil || len(logged) != len(appended) {
		t.Fatalf("the log holds %v (%v), want %v", logged, err, appended)
	}
}
