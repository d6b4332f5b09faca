package main

import (
	"context"
	"testing"
	"time"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
	"github.com/rs/zerolog"
)

// TestKeepIndexHorizon: a serving node advances the horizon when it starts
// and then only at the ticks that find it due, as the system.
func TestKeepIndexHorizon(t *testing.T) {
	n, err := openNode(&config{Data: t.TempDir()}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	p := n.startProjector(context.Background())
	defer func() {
		if err := p.stop(); err != nil {
			t.Error(err)
		}
		n.close()
	}()
	start := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	// The clock read at start and at each tick.
	clock := []time.Time{start, start.Add(time.Hour), start.Add(domain.IndexHorizonStep), start.Add(domain.IndexHorizonStep + time.Hour)}
	now := func() time.Time {
		t := clock[0]
		clock = clock[1:]
		return t
	}
	ticks := make(chan time.Time)
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.keepIndexHorizon(context.Background(), now, ticks)
	}()
	for range 3 {
		ticks <- time.Time{} // taken only once the check before it is done
	}
	close(ticks)
	<-done
	if len(clock) != 0 {
		t.Fatalf("%d clock readings left", len(clock))
	}
	var got []time.Time
	err = n.log.ReadStream(context.Background(), domain.IndexHorizonStream, 0, func(r eventlog.Record) error {
		ev, err := domain.Decode(r.Type, r.SchemaVersion, r.Data)
		if err == nil && r.Meta.Principal != eventlog.System {
			t.Errorf("appended by %q", r.Meta.Principal)
		}
		if err == nil {
			got = append(got, ev.(*domain.IndexHorizonAdvanced).Through)
		}
		return err
	})
	want := []time.Time{start.AddDate(2, 0, 0), start.Add(domain.IndexHorizonStep).AddDate(2, 0, 0)}
	if err != nil || len(got) != 2 || !got[0].Equal(want[0]) || !got[1].Equal(want[1]) {
		t.Fatalf("the log holds %v (%v), want %v", got, err, want)
	}
}
