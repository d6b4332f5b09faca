package pebblelog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/kalends/kalends/eventlog"
)

const (
	prefixEvent  = 'e'
	prefixIndex  = 'i'
	prefixHead   = 'h'
	recordFormat = 1
)

func eventKey(pos eventlog.Position) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixEvent}, uint64(pos))
}

func appendStream(dst []byte, prefix byte, stream string) []byte {
	dst = append(dst, prefix)
	dst = binary.AppendUvarint(dst, uint64(len(stream)))
	return append(dst, stream...)
}

func indexKey(stream string, rev eventlog.Revision) []byte {
	return binary.BigEndian.AppendUint64(appendStream(nil, prefixIndex, stream), uint64(rev))
}

func headKey(stream string) []byte { return appendStream(nil, prefixHead, stream) }

// streamHead is what an expected-revision check and the next chain hash need.
type streamHead struct {
	exists bool
	last   eventlog.Revision
	hash   [32]byte
}

func encodeHead(h streamHead) []byte {
	return append(binary.BigEndian.AppendUint64(nil, uint64(h.last)), h.hash[:]...)
}

func decodeHead(v []byte) (streamHead, error) {
	if len(v) != 8+32 {
		return streamHead{}, fmt.Errorf("pebblelog: stream head of %d bytes", len(v))
	}
	h := streamHead{exists: true, last: eventlog.Revision(binary.BigEndian.Uint64(v))}
	copy(h.hash[:], v[8:])
	return h, nil
}

func appendBytes(dst, b []byte) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(b))), b...)
}

func appendString(dst []byte, s string) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
}

// encodeRecord appends r's value encoding (everything but the position) to dst.
func encodeRecord(dst []byte, r *eventlog.Record) []byte {
	dst = append(dst, recordFormat)
	dst = appendString(dst, r.Stream)
	dst = binary.AppendUvarint(dst, uint64(r.Revision))
	dst = append(dst, r.PrevHash[:]...)
	dst = append(dst, r.Hash[:]...)
	dst = appendString(dst, r.Type)
	dst = binary.AppendUvarint(dst, uint64(r.SchemaVersion))
	dst = appendBytes(dst, r.Data)
	m := &r.Meta
	for _, s := range [...]string{m.Principal, m.OnBehalfOf, m.RequestID, m.UserAgent, m.RemoteAddr} {
		dst = appendString(dst, s)
	}
	dst = binary.AppendVarint(dst, m.Time.Unix())
	return binary.AppendUvarint(dst, uint64(m.Time.Nanosecond()))
}

var errCorrupt = errors.New("pebblelog: corrupt record")

// decoder reads record values. Everything it returns is freshly allocated so
// that records never alias Pebble's buffers; it only shares identical strings
// between consecutive records (streams and types repeat during a scan).
type decoder struct {
	b           []byte
	err         error
	stream, typ string
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) fail() {
	d.err = errCorrupt
	d.b = nil
}

func (d *decoder) raw(n uint64) []byte {
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte { return d.raw(d.uvarint()) }

// interned returns b as a string, reusing *last when equal.
func (d *decoder) interned(b []byte, last *string) string {
	if *last == string(b) {
		return *last
	}
	*last = string(b)
	return *last
}

func (d *decoder) decode(pos eventlog.Position, v []byte, r *eventlog.Record) error {
	d.b, d.err = v, nil
	if f := d.raw(1); d.err == nil && f[0] != recordFormat {
		return fmt.Errorf("pebblelog: record at %d has unknown format %d", pos, f[0])
	}
	r.Position = pos
	r.Stream = d.interned(d.bytes(), &d.stream)
	r.Revision = eventlog.Revision(d.uvarint())
	copy(r.PrevHash[:], d.raw(32))
	copy(r.Hash[:], d.raw(32))
	r.Type = d.interned(d.bytes(), &d.typ)
	schema := d.uvarint()
	r.SchemaVersion = uint16(schema)
	r.Data = append([]byte(nil), d.bytes()...)
	m := &r.Meta
	for _, s := range [...]*string{&m.Principal, &m.OnBehalfOf, &m.RequestID, &m.UserAgent, &m.RemoteAddr} {
		*s = string(d.bytes())
	}
	sec, nsec := d.varint(), d.uvarint()
	m.Time = time.Unix(sec, int64(nsec)).UTC()
	if d.err != nil || len(d.b) != 0 || schema > math.MaxUint16 || nsec >= 1e9 {
		return fmt.Errorf("%w at position %d", errCorrupt, pos)
	}
	return nil
}
