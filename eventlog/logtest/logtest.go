package logtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kalends/kalends/eventlog"
)

// wait bounds every blocking call, so a broken adapter fails instead of hanging.
const wait = 10 * time.Second

// Run runs the contract suite. open must return a new, empty log for each
// call; Run closes every log it opens.
func Run(t *testing.T, open func(t *testing.T) eventlog.Log) {
	tests := []struct {
		name string
		f    func(t *testing.T, l eventlog.Log)
	}{
		{"AppendAndReadStream", testAppendAndReadStream},
		{"ExpectedRevision", testExpectedRevision},
		{"InvalidAppend", testInvalidAppend},
		{"GlobalOrder", testGlobalOrder},
		{"ReadAllFrom", testReadAllFrom},
		{"SubscribeFrom", testSubscribeFrom},
		{"LiveTail", testLiveTail},
		{"ConcurrentAppenders", testConcurrentAppenders},
		{"HashChain", testHashChain},
		{"Metadata", testMetadata},
		{"MultiStream", testMultiStream},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := open(t)
			t.Cleanup(func() { _ = l.Close() })
			tc.f(t, l)
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return c
}

// events makes n distinguishable events whose data names tag and the index.
func events(tag string, n int) []eventlog.Event {
	evs := make([]eventlog.Event, n)
	for i := range evs {
		evs[i] = eventlog.Event{
			Type:          "Test",
			SchemaVersion: 1,
			Data:          fmt.Appendf(nil, "%s/%d", tag, i),
			Meta:          eventlog.Metadata{Principal: "alice", Time: time.Unix(1700000000, int64(i)).UTC()},
		}
	}
	return evs
}

func mustAppend(t *testing.T, l eventlog.Log, stream string, exp eventlog.ExpectedRevision, evs []eventlog.Event) eventlog.AppendResult {
	t.Helper()
	res, err := l.Append(ctx(t), stream, exp, evs)
	if err != nil {
		t.Fatalf("Append(%q, %v): %v", stream, exp, err)
	}
	return res
}

func readStream(t *testing.T, l eventlog.Log, stream string, from eventlog.Revision) []eventlog.Record {
	t.Helper()
	var recs []eventlog.Record
	if err := l.ReadStream(ctx(t), stream, from, func(r eventlog.Record) error {
		recs = append(recs, r)
		return nil
	}); err != nil {
		t.Fatalf("ReadStream(%q, %d): %v", stream, from, err)
	}
	return recs
}

func readAll(t *testing.T, l eventlog.Log, after eventlog.Position) []eventlog.Record {
	t.Helper()
	var recs []eventlog.Record
	if err := l.ReadAll(ctx(t), after, func(r eventlog.Record) error {
		recs = append(recs, r)
		return nil
	}); err != nil {
		t.Fatalf("ReadAll(%d): %v", after, err)
	}
	return recs
}

func head(t *testing.T, l eventlog.Log) eventlog.Position {
	t.Helper()
	h, err := l.Head(ctx(t))
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	return h
}

// sameEvent compares what a writer proposed with what a reader got back.
func sameEvent(a, b eventlog.Event) bool {
	return a.Type == b.Type && a.SchemaVersion == b.SchemaVersion && bytes.Equal(a.Data, b.Data) &&
		a.Meta.Principal == b.Meta.Principal && a.Meta.OnBehalfOf == b.Meta.OnBehalfOf &&
		a.Meta.RequestID == b.Meta.RequestID && a.Meta.UserAgent == b.Meta.UserAgent &&
		a.Meta.RemoteAddr == b.Meta.RemoteAddr && a.Meta.Time.Equal(b.Meta.Time)
}

// checkStream demands that stream holds exactly want, at revisions 0.., with
// an intact hash chain.
func checkStream(t *testing.T, l eventlog.Log, stream string, want []eventlog.Event) []eventlog.Record {
	t.Helper()
	recs := readStream(t, l, stream, 0)
	if len(recs) != len(want) {
		t.Fatalf("stream %q has %d records, want %d", stream, len(recs), len(want))
	}
	for i, r := range recs {
		if r.Stream != stream || r.Revision != eventlog.Revision(i) {
			t.Fatalf("stream %q record %d is %q@%d", stream, i, r.Stream, r.Revision)
		}
		if !sameEvent(r.Event, want[i]) {
			t.Fatalf("stream %q revision %d: got %+v, want %+v", stream, i, r.Event, want[i])
		}
	}
	checkChain(t, recs)
	return recs
}

// checkChain verifies the hash chain of one stream's records, read in order
// from revision 0.
func checkChain(t *testing.T, recs []eventlog.Record) {
	t.Helper()
	var prev [32]byte
	for _, r := range recs {
		if r.PrevHash != prev {
			t.Fatalf("%q@%d: PrevHash %x, want the previous record's hash %x", r.Stream, r.Revision, r.PrevHash, prev)
		}
		if want := eventlog.ChainHash(r.PrevHash, r.Stream, r.Revision, r.Event); r.Hash != want {
			t.Fatalf("%q@%d: Hash %x, want ChainHash %x", r.Stream, r.Revision, r.Hash, want)
		}
		prev = r.Hash
	}
}

func testAppendAndReadStream(t *testing.T, l eventlog.Log) {
	first := events("a", 3)
	res := mustAppend(t, l, "s", eventlog.Any, first)
	if res.FirstRevision != 0 || res.LastRevision != 2 || res.Position == 0 {
		t.Fatalf("first append: %+v", res)
	}
	second := events("b", 2)
	res2 := mustAppend(t, l, "s", eventlog.Any, second)
	if res2.FirstRevision != 3 || res2.LastRevision != 4 || res2.Position <= res.Position {
		t.Fatalf("second append after %+v: %+v", res, res2)
	}
	all := checkStream(t, l, "s", append(first, second...))
	if all[2].Position != res.Position || all[4].Position != res2.Position {
		t.Fatalf("positions %d, %d; appends said %d, %d", all[2].Position, all[4].Position, res.Position, res2.Position)
	}
	if tail := readStream(t, l, "s", 3); len(tail) != 2 || tail[0].Revision != 3 {
		t.Fatalf("ReadStream from 3: %d records", len(tail))
	}
	if past := readStream(t, l, "s", 5); len(past) != 0 {
		t.Fatalf("ReadStream past the end: %d records", len(past))
	}
	if none := readStream(t, l, "missing", 0); len(none) != 0 {
		t.Fatalf("ReadStream of a missing stream: %d records", len(none))
	}
	// A stream whose name extends another's is a different stream.
	mustAppend(t, l, "s2", eventlog.NoStream, events("c", 1))
	if got := readStream(t, l, "s", 0); len(got) != 5 {
		t.Fatalf("stream s has %d records after appending to s2", len(got))
	}
	stop := errors.New("stop")
	n := 0
	err := l.ReadStream(ctx(t), "s", 0, func(eventlog.Record) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("ReadStream with a failing fn: err %v after %d calls", err, n)
	}
}

func testExpectedRevision(t *testing.T, l eventlog.Log) {
	steps := []struct {
		name     string
		stream   string
		exp      eventlog.ExpectedRevision
		conflict bool
		actual   int64 // for conflicts
	}{
		{"exactly on a new stream", "x", eventlog.Exactly(0), true, -1},
		{"stream-exists on a new stream", "x", eventlog.StreamExists, true, -1},
		{"no-stream on a new stream", "x", eventlog.NoStream, false, 0},
		{"no-stream on an existing stream", "x", eventlog.NoStream, true, 0},
		{"stream-exists on an existing stream", "x", eventlog.StreamExists, false, 0},
		{"exactly the last revision", "x", eventlog.Exactly(1), false, 0},
		{"exactly a past revision", "x", eventlog.Exactly(1), true, 2},
		{"exactly a future revision", "x", eventlog.Exactly(7), true, 2},
		{"any on an existing stream", "x", eventlog.Any, false, 0},
		{"any on a new stream", "y", eventlog.Any, false, 0},
	}
	lens := map[string]int{}
	for _, st := range steps {
		before := head(t, l)
		_, err := l.Append(ctx(t), st.stream, st.exp, events(st.name, 1))
		if !st.conflict {
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			lens[st.stream]++
			continue
		}
		if !errors.Is(err, eventlog.ErrConflict) {
			t.Fatalf("%s: err %v, want a conflict", st.name, err)
		}
		var ce *eventlog.ConflictError
		if !errors.As(err, &ce) || ce.Stream != st.stream || ce.Expected != st.exp || ce.Actual != st.actual {
			t.Fatalf("%s: %#v, want stream %q expected %v actual %d", st.name, ce, st.stream, st.exp, st.actual)
		}
		if got := len(readStream(t, l, st.stream, 0)); got != lens[st.stream] {
			t.Fatalf("%s: the conflicting append wrote: %d records, want %d", st.name, got, lens[st.stream])
		}
		if h := head(t, l); h != before {
			t.Fatalf("%s: the conflicting append moved the head from %d to %d", st.name, before, h)
		}
	}
}

func testInvalidAppend(t *testing.T, l eventlog.Log) {
	if _, err := l.Append(ctx(t), "s", eventlog.Any, nil); err == nil || errors.Is(err, eventlog.ErrConflict) {
		t.Fatalf("empty events: err %v, want a non-conflict error", err)
	}
	if _, err := l.Append(ctx(t), "", eventlog.Any, events("e", 1)); err == nil || errors.Is(err, eventlog.ErrConflict) {
		t.Fatalf("empty stream: err %v, want a non-conflict error", err)
	}
	if n := len(readAll(t, l, 0)); n != 0 {
		t.Fatalf("invalid appends wrote %d records", n)
	}
}

type streamRev struct {
	stream string
	rev    eventlog.Revision
}

// appendMixed appends to several streams, interleaved, and returns what
// each append said, keyed by its events.
func appendMixed(t *testing.T, l eventlog.Log, rounds int) map[streamRev]eventlog.Position {
	t.Helper()
	want := map[streamRev]eventlog.Position{}
	for i := range rounds {
		for _, s := range []string{"a", "b", "c"} {
			n := 1 + (i+len(s))%3
			res := mustAppend(t, l, s, eventlog.Any, events(fmt.Sprint(s, i), n))
			if h := head(t, l); h < res.Position {
				t.Fatalf("read-your-append: Head %d < appended position %d", h, res.Position)
			}
			for r := res.FirstRevision; r <= res.LastRevision; r++ {
				want[streamRev{s, r}] = 0
			}
			want[streamRev{s, res.LastRevision}] = res.Position
		}
	}
	return want
}

func checkOrdered(t *testing.T, recs []eventlog.Record, after eventlog.Position) {
	t.Helper()
	last := after
	for _, r := range recs {
		if r.Position <= last {
			t.Fatalf("position %d after %d", r.Position, last)
		}
		last = r.Position
	}
}

func testGlobalOrder(t *testing.T, l eventlog.Log) {
	want := appendMixed(t, l, 10)
	recs := readAll(t, l, 0)
	checkOrdered(t, recs, 0)
	seen := map[streamRev]bool{}
	for _, r := range recs {
		k := streamRev{r.Stream, r.Revision}
		p, ok := want[k]
		if !ok || seen[k] {
			t.Fatalf("ReadAll: unexpected or repeated %v", k)
		}
		if p != 0 && p != r.Position {
			t.Fatalf("%v at position %d, the append said %d", k, r.Position, p)
		}
		seen[k] = true
	}
	if len(seen) != len(want) {
		t.Fatalf("ReadAll has %d records, appended %d", len(seen), len(want))
	}
	if h := head(t, l); h != recs[len(recs)-1].Position {
		t.Fatalf("Head %d, last record at %d", h, recs[len(recs)-1].Position)
	}
}

func testReadAllFrom(t *testing.T, l eventlog.Log) {
	appendMixed(t, l, 5)
	all := readAll(t, l, 0)
	mid := all[len(all)/2].Position
	rest := readAll(t, l, mid)
	if len(rest) != len(all)-len(all)/2-1 || rest[0].Position != all[len(all)/2+1].Position {
		t.Fatalf("ReadAll from %d: %d records, want %d", mid, len(rest), len(all)-len(all)/2-1)
	}
	if n := len(readAll(t, l, head(t, l))); n != 0 {
		t.Fatalf("ReadAll from head: %d records", n)
	}
	if n := len(readAll(t, l, head(t, l)+1000)); n != 0 {
		t.Fatalf("ReadAll from beyond head: %d records", n)
	}
}

// collect takes n records from sub.
func collect(t *testing.T, sub eventlog.Subscription, n int) []eventlog.Record {
	t.Helper()
	var recs []eventlog.Record
	for len(recs) < n {
		batch, err := sub.Next(ctx(t))
		if err != nil {
			t.Fatalf("Next after %d of %d records: %v", len(recs), n, err)
		}
		if len(batch) == 0 {
			t.Fatal("Next returned no records and no error")
		}
		recs = append(recs, batch...)
	}
	if len(recs) != n {
		t.Fatalf("subscription delivered %d records, want %d", len(recs), n)
	}
	return recs
}

// checkIdle demands that sub has nothing more to deliver for now.
func checkIdle(t *testing.T, sub eventlog.Subscription) {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if recs, err := sub.Next(c); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next at the end: %d records, err %v; want a deadline error", len(recs), err)
	}
}

func subscribe(t *testing.T, l eventlog.Log, after eventlog.Position) eventlog.Subscription {
	t.Helper()
	sub, err := l.Subscribe(ctx(t), after)
	if err != nil {
		t.Fatalf("Subscribe(%d): %v", after, err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return sub
}

func samePositions(t *testing.T, got, want []eventlog.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Position != want[i].Position || got[i].Hash != want[i].Hash {
			t.Fatalf("record %d at %d, want %d", i, got[i].Position, want[i].Position)
		}
	}
}

func testSubscribeFrom(t *testing.T, l eventlog.Log) {
	appendMixed(t, l, 5)
	all := readAll(t, l, 0)
	samePositions(t, collect(t, subscribe(t, l, 0), len(all)), all)

	mid := len(all) / 2
	sub := subscribe(t, l, all[mid].Position)
	samePositions(t, collect(t, sub, len(all)-mid-1), all[mid+1:])
	checkIdle(t, sub)

	checkIdle(t, subscribe(t, l, head(t, l)))
}

func testLiveTail(t *testing.T, l eventlog.Log) {
	sub := subscribe(t, l, 0)
	const n = 30
	errc := make(chan error, 1)
	go func() {
		for i := range n {
			if _, err := l.Append(ctx(t), fmt.Sprint("live", i%3), eventlog.Any, events(fmt.Sprint(i), 1)); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	got := collect(t, sub, n)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	checkOrdered(t, got, 0)
	for i, r := range got {
		if want := fmt.Sprintf("%d/0", i); string(r.Data) != want {
			t.Fatalf("live record %d has data %q, want %q", i, r.Data, want)
		}
	}
	checkIdle(t, sub)
	samePositions(t, got, readAll(t, l, 0))
}

func testConcurrentAppenders(t *testing.T, l eventlog.Log) {
	const writers, perWriter = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			own := fmt.Sprint("own", w)
			ownExp := eventlog.NoStream
			for i := range perWriter {
				ev := events(fmt.Sprintf("w%d-%d", w, i), 1)
				if i%2 == 0 {
					res, err := l.Append(ctx(t), own, ownExp, ev)
					if err != nil {
						errs <- fmt.Errorf("writer %d, own stream: %w", w, err)
						return
					}
					ownExp = eventlog.Exactly(res.LastRevision)
					continue
				}
				// The shared stream is decided against the last revision
				// seen, and re-decided on conflict as a PUT would be.
				exp := eventlog.NoStream
				for {
					_, err := l.Append(ctx(t), "shared", exp, ev)
					var ce *eventlog.ConflictError
					if !errors.As(err, &ce) {
						if err != nil {
							errs <- fmt.Errorf("writer %d, shared stream: %w", w, err)
						}
						break
					}
					exp = eventlog.Exactly(eventlog.Revision(ce.Actual))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	data := map[string]int{}
	shared := readStream(t, l, "shared", 0)
	if len(shared) != writers*perWriter/2 {
		t.Fatalf("shared stream has %d records, want %d", len(shared), writers*perWriter/2)
	}
	for i, r := range shared {
		if r.Revision != eventlog.Revision(i) {
			t.Fatalf("shared record %d has revision %d", i, r.Revision)
		}
		data[string(r.Data)]++
	}
	checkChain(t, shared)
	for w := range writers {
		own := readStream(t, l, fmt.Sprint("own", w), 0)
		if len(own) != perWriter/2 {
			t.Fatalf("own stream %d has %d records", w, len(own))
		}
		checkChain(t, own)
		for _, r := range own {
			data[string(r.Data)]++
		}
	}
	all := readAll(t, l, 0)
	checkOrdered(t, all, 0)
	if len(all) != writers*perWriter || len(data) != writers*perWriter {
		t.Fatalf("ReadAll has %d records, %d distinct in streams; want %d", len(all), len(data), writers*perWriter)
	}
	for _, r := range all {
		if data[string(r.Data)] != 1 {
			t.Fatalf("event %q appears %d times in streams", r.Data, data[string(r.Data)])
		}
	}
}

func testHashChain(t *testing.T, l eventlog.Log) {
	for i := range 4 {
		mustAppend(t, l, "p", eventlog.Any, events(fmt.Sprint("p", i), 1+i))
		mustAppend(t, l, "q", eventlog.Any, events(fmt.Sprint("q", i), 2))
	}
	hashes := map[streamRev][32]byte{}
	for _, s := range []string{"p", "q"} {
		recs := readStream(t, l, s, 0)
		checkChain(t, recs)
		for _, r := range recs {
			hashes[streamRev{s, r.Revision}] = r.Hash
		}
	}
	for _, r := range readAll(t, l, 0) {
		if hashes[streamRev{r.Stream, r.Revision}] != r.Hash {
			t.Fatalf("%q@%d: ReadAll and ReadStream disagree on the hash", r.Stream, r.Revision)
		}
	}
}

func testMetadata(t *testing.T, l eventlog.Log) {
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	evs := []eventlog.Event{
		{
			Type:          "ObjectPut",
			SchemaVersion: 65535,
			Data:          []byte("BEGIN:VCALENDAR\r\n\x00\xff\xfe binary\r\nEND:VCALENDAR\r\n"),
			Meta: eventlog.Metadata{
				Principal:  "/principals/bob/",
				OnBehalfOf: "/principals/alice/",
				Time:       time.Date(2024, 2, 29, 23, 59, 59, 123456789, zone),
				RequestID:  "req-\u00e9\u6f22",
				UserAgent:  "DAVx5/4.4 (2024/01/01; dav4jvm; okhttp/4.12.0) Android/14",
				RemoteAddr: "[2001:db8::1]:54321",
			},
		},
		{Type: "Empty"}, // every field at its zero value, including the time
		{Type: "Now", Data: []byte{}, Meta: eventlog.Metadata{Time: time.Now()}},
	}
	mustAppend(t, l, "meta", eventlog.NoStream, evs)
	// Collected first and compared afterwards: an adapter that reuses
	// buffers across records would show here as corrupted earlier records.
	all := readAll(t, l, 0)
	sub := collect(t, subscribe(t, l, 0), len(evs))
	for _, recs := range [][]eventlog.Record{checkStream(t, l, "meta", evs), all, sub} {
		for i, r := range recs {
			if !sameEvent(r.Event, evs[i]) {
				t.Fatalf("revision %d: got %+v, want %+v", i, r.Event, evs[i])
			}
		}
	}
	if !all[1].Meta.Time.IsZero() {
		t.Fatalf("the zero time came back as %v", all[1].Meta.Time)
	}
}

func testMultiStream(t *testing.T, l eventlog.Log) {
	m, ok := l.(eventlog.MultiStreamAppender)
	if !ok {
		t.Skip("the adapter has no multi-stream appends")
	}
	mustAppend(t, l, "m1", eventlog.NoStream, events("m1", 2))
	res, err := m.AppendMulti(ctx(t), []eventlog.StreamAppend{
		{Stream: "m1", Expected: eventlog.Exactly(1), Events: events("m1b", 2)},
		{Stream: "m2", Expected: eventlog.NoStream, Events: events("m2", 1)},
	})
	if err != nil {
		t.Fatalf("AppendMulti: %v", err)
	}
	if len(res) != 2 || res[0].FirstRevision != 2 || res[0].LastRevision != 3 ||
		res[1].FirstRevision != 0 || res[1].LastRevision != 0 {
		t.Fatalf("AppendMulti results: %+v", res)
	}
	if h := head(t, l); h < res[0].Position || h < res[1].Position {
		t.Fatalf("Head %d before the multi-append's positions %+v", h, res)
	}
	before := head(t, l)
	_, err = m.AppendMulti(ctx(t), []eventlog.StreamAppend{
		{Stream: "m1", Expected: eventlog.Exactly(3), Events: events("ok", 1)},
		{Stream: "m3", Expected: eventlog.NoStream, Events: events("ok", 1)},
		{Stream: "m2", Expected: eventlog.NoStream, Events: events("bad", 1)},
	})
	var ce *eventlog.ConflictError
	if !errors.As(err, &ce) || ce.Stream != "m2" {
		t.Fatalf("AppendMulti with one failing expectation: %v, want a conflict on m2", err)
	}
	if h := head(t, l); h != before {
		t.Fatalf("the failed multi-append moved the head from %d to %d", before, h)
	}
	for s, n := range map[string]int{"m1": 4, "m2": 1, "m3": 0} {
		if got := len(readStream(t, l, s, 0)); got != n {
			t.Fatalf("after the failed multi-append, %s has %d records, want %d", s, got, n)
		}
	}
}

func testClose(t *testing.T, l eventlog.Log) {
	mustAppend(t, l, "c", eventlog.Any, events("c", 1))
	sub := subscribe(t, l, head(t, l))
	blocked := make(chan error, 1)
	go func() {
		for {
			// Records from the racing appenders may come first.
			if _, err := sub.Next(context.Background()); err != nil {
				blocked <- err
				return
			}
		}
	}()

	// Appenders racing Close either land or see ErrClosed, never hang.
	var wg sync.WaitGroup
	racing := make(chan error, 16)
	for i := range cap(racing) {
		wg.Go(func() {
			_, err := l.Append(ctx(t), fmt.Sprint("race", i), eventlog.Any, events("r", 1))
			racing <- err
		})
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	close(racing)
	for err := range racing {
		if err != nil && !errors.Is(err, eventlog.ErrClosed) {
			t.Fatalf("Append racing Close: %v", err)
		}
	}
	select {
	case err := <-blocked:
		if !errors.Is(err, eventlog.ErrClosed) {
			t.Fatalf("a blocked Next ended with %v on Close, want ErrClosed", err)
		}
	case <-time.After(wait):
		t.Fatal("a blocked Next did not return on Close")
	}

	c := ctx(t)
	nop := func(eventlog.Record) error { return nil }
	checks := map[string]error{}
	_, checks["Append"] = l.Append(c, "c", eventlog.Any, events("late", 1))
	checks["ReadStream"] = l.ReadStream(c, "c", 0, nop)
	checks["ReadAll"] = l.ReadAll(c, 0, nop)
	_, checks["Subscribe"] = l.Subscribe(c, 0)
	_, checks["Head"] = l.Head(c)
	_, checks["Next"] = sub.Next(c)
	checks["second Close"] = l.Close()
	for call, err := range checks {
		if !errors.Is(err, eventlog.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", call, err)
		}
	}
}
