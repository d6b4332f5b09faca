package pebblelog_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kalends/kalends/eventlog"
)

// benchEvent is about the size of a small VEVENT PUT with its metadata.
func benchEvent(i int) eventlog.Event {
	return eventlog.Event{
		Type:          "ObjectPut",
		SchemaVersion: 1,
		Data:          bytes.Repeat(fmt.Appendf(nil, "%08d", i), 64),
		Meta: eventlog.Metadata{
			Principal: "/principals/alice/", OnBehalfOf: "/principals/alice/",
			Time: time.Now(), RequestID: fmt.Sprint("req-", i),
			UserAgent: "DAVx5/4.4", RemoteAddr: "192.0.2.1:50000",
		},
	}
}

// BenchmarkAppend appends one event per call on the real filesystem, each
// fsynced. parallel8 shows group commit: eight appenders share fsyncs.
func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		l := open(b, b.TempDir(), nil)
		defer l.Close()
		ev := []eventlog.Event{benchEvent(0)}
		for b.Loop() {
			if _, err := l.Append(ctx, "s", eventlog.Any, ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel8", func(b *testing.B) {
		l := open(b, b.TempDir(), nil)
		defer l.Close()
		b.SetParallelism((8 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
		var id atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			stream := fmt.Sprint("s", id.Add(1))
			ev := []eventlog.Event{benchEvent(0)}
			for pb.Next() {
				if _, err := l.Append(ctx, stream, eventlog.Any, ev); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkReadAll measures a rebuild's read side: a full scan of a log of
// 100,000 events on the real filesystem.
func BenchmarkReadAll(b *testing.B) {
	const total, perAppend = 100_000, 100
	ctx := context.Background()
	dir := b.TempDir()
	l := open(b, dir, nil)
	batch := make([]eventlog.Event, perAppend)
	for i := 0; i < total; i += perAppend {
		for j := range batch {
			batch[j] = benchEvent(i + j)
		}
		if _, err := l.Append(ctx, fmt.Sprint("cal", i/perAppend%50), eventlog.Any, batch); err != nil {
			b.Fatal(err)
		}
	}
	// Reopened so that the scan reads tables, as a rebuild would, rather
	// than the memtable, and competes less with the writes' compactions.
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	l = open(b, dir, nil)
	defer l.Close()
	start := time.Now()
	n := 0
	for b.Loop() {
		if err := l.ReadAll(ctx, 0, func(eventlog.Record) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	if n%total != 0 {
		b.Fatalf("read %d events, not a multiple of %d", n, total)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
}
