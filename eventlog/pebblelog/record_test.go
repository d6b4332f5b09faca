package pebblelog

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/kalends/kalends/eventlog"
)

func sampleRecord() eventlog.Record {
	r := eventlog.Record{
		Stream:   "/calendars/alice/home/",
		Revision: 1 << 40,
		Position: 99,
		Event: eventlog.Event{
			Type:          "ObjectPut",
			SchemaVersion: 7,
			Data:          []byte("BEGIN:VCALENDAR\x00\xff"),
			Meta: eventlog.Metadata{
				Principal: "p", OnBehalfOf: "o", RequestID: "r", UserAgent: "u", RemoteAddr: "a",
				Time: time.Date(1969, 7, 20, 20, 17, 40, 999999999, time.UTC),
			},
		},
	}
	r.PrevHash[0], r.Hash[31] = 1, 2
	return r
}

func TestRecordRoundTrip(t *testing.T) {
	for _, want := range []eventlog.Record{sampleRecord(), {Stream: "s", Position: 1}} {
		var got eventlog.Record
		var d decoder
		if err := d.decode(want.Position, encodeRecord(nil, &want), &got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Data, want.Data) || !got.Meta.Time.Equal(want.Meta.Time) {
			t.Fatalf("got %+v, want %+v", got, want)
		}
		got.Data, want.Data = nil, nil
		got.Meta.Time, want.Meta.Time = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	}
}

// TestDecodeDoesNotAlias guards rebuilds: records outlive the Pebble buffer
// they were decoded from.
func TestDecodeDoesNotAlias(t *testing.T) {
	want := sampleRecord()
	v := encodeRecord(nil, &want)
	var got eventlog.Record
	var d decoder
	if err := d.decode(1, v, &got); err != nil {
		t.Fatal(err)
	}
	clear(v)
	if !bytes.Equal(got.Data, want.Data) || got.Meta.Principal != "p" || got.Stream != want.Stream {
		t.Fatalf("the record changed with its source buffer: %+v", got)
	}
}

func TestDecodeCorrupt(t *testing.T) {
	r := sampleRecord()
	v := encodeRecord(nil, &r)
	var d decoder
	for n := range len(v) {
		if err := d.decode(1, v[:n], new(eventlog.Record)); err == nil {
			t.Fatalf("a record truncated to %d of %d bytes decoded", n, len(v))
		}
	}
	if err := d.decode(1, append(v, 0), new(eventlog.Record)); !errors.Is(err, errCorrupt) {
		t.Fatalf("trailing garbage: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	r := sampleRecord()
	f.Add(encodeRecord(nil, &r))
	f.Fuzz(func(t *testing.T, v []byte) {
		// Varints need not be minimal, so bytes may differ; what a value
		// decodes to must survive a round trip.
		var got, again eventlog.Record
		var d decoder
		if d.decode(1, v, &got) != nil {
			return
		}
		if err := d.decode(1, encodeRecord(nil, &got), &again); err != nil || !reflect.DeepEqual(got, again) {
			t.Fatalf("%x decodes to %+v, which re-encodes to %+v (%v)", v, got, again, err)
		}
	})
}
