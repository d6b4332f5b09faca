package projections

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
)

// Values are a compact binary encoding rather than JSON: listing 10,000
// objects must decode in a few milliseconds, and a fixed field order keeps
// the bytes deterministic. There is no per-value version: a changed encoding
// bumps schemaVersion, which rebuilds the store.

var errCorrupt = errors.New("projections: corrupt value")

type enc []byte

func (e enc) uvarint(v uint64) enc { return binary.AppendUvarint(e, v) }

func (e enc) str(s string) enc { return append(e.uvarint(uint64(len(s))), s...) }

func (e enc) bool(b bool) enc {
	if b {
		return append(e, 1)
	}
	return append(e, 0)
}

// time keeps the instant, not the zone: the same event must give the same
// bytes whatever zone its metadata was decoded in. Unix seconds are
// defined for every time.Time, the zero value included.
func (e enc) time(t time.Time) enc {
	return enc(binary.AppendVarint(e, t.Unix())).uvarint(uint64(t.Nanosecond()))
}

func (e enc) strs(ss []string) enc {
	e = e.uvarint(uint64(len(ss)))
	for _, s := range ss {
		e = e.str(s)
	}
	return e
}

type dec struct {
	b   []byte
	err error
}

func (d *dec) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) str() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *dec) bool() bool {
	if len(d.b) == 0 {
		d.fail()
		return false
	}
	v := d.b[0] == 1
	d.b = d.b[1:]
	return v
}

func (d *dec) time() time.Time {
	sec, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return time.Time{}
	}
	d.b = d.b[n:]
	nsec := int64(d.uvarint())
	return time.Unix(sec, nsec).UTC()
}

func (d *dec) strs() []string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	var ss []string
	for range n {
		ss = append(ss, d.str())
	}
	return ss
}

func (d *dec) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.b = nil
}

// done reports the first error, or trailing bytes, which mean corruption too.
func (d *dec) done() error {
	if d.err == nil && len(d.b) != 0 {
		return errCorrupt
	}
	return d.err
}

func encodePrincipal(p Principal) []byte {
	return enc(nil).str(p.DisplayName).str(p.Email).bool(p.Disabled).time(p.Created)
}

func decodePrincipal(name string, v []byte) (Principal, error) {
	d := dec{b: v}
	p := Principal{Name: name, DisplayName: d.str(), Email: d.str(), Disabled: d.bool(), Created: d.time()}
	return p, d.done()
}

func encodeCalendar(c Calendar) []byte {
	e := enc(nil).uvarint(uint64(c.Revision)).uvarint(uint64(c.Incarnation)).bool(c.Deleted).strs(c.Components)
	e = e.uvarint(uint64(len(c.Props)))
	for _, p := range c.Props {
		e = e.str(p.Space).str(p.Local).str(p.XML).str(p.Attrs)
	}
	return e.time(c.Created).time(c.Modified)
}

func decodeCalendar(owner, name string, v []byte) (Calendar, error) {
	d := dec{b: v}
	c := Calendar{Owner: owner, Name: name, Stream: domain.CalendarStream(owner, name)}
	c.Revision = eventlog.Revision(d.uvarint())
	c.Incarnation = eventlog.Revision(d.uvarint())
	c.Deleted = d.bool()
	c.Components = d.strs()
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
	}
	for range n {
		c.Props = append(c.Props, domain.Property{Space: d.str(), Local: d.str(), XML: d.str(), Attrs: d.str()})
	}
	c.Created = d.time()
	c.Modified = d.time()
	return c, d.done()
}

func encodeObjectMeta(o Object) []byte {
	return enc(nil).str(o.UID).str(o.Component).str(o.ETag).uvarint(uint64(o.Size)).
		time(o.Modified).uvarint(uint64(o.Revision))
}

func decodeObjectMeta(name string, v []byte) (Object, error) {
	d := dec{b: v}
	o := Object{Name: name, UID: d.str(), Component: d.str(), ETag: d.str(), Size: int(d.uvarint()),
		Modified: d.time(), Revision: eventlog.Revision(d.uvarint())}
	return o, d.done()
}

func encodeChange(name string, deleted bool) []byte {
	return append(enc(nil).bool(deleted), name...)
}

func decodeChange(rev eventlog.Revision, v []byte) (Change, error) {
	d := dec{b: v}
	deleted := d.bool()
	if d.err != nil {
		return Change{}, d.err
	}
	return Change{Name: string(d.b), Revision: rev, Deleted: deleted}, nil
}

// memberState is what applying a member's next change needs to know of its
// last one: where its change-index entry is, and the UID it holds if live.
type memberState struct {
	rev     eventlog.Revision
	deleted bool
	uid     string
}

func encodeMemberState(st memberState) []byte {
	return append(enc(binary.BigEndian.AppendUint64(nil, uint64(st.rev))).bool(st.deleted), st.uid...)
}

func decodeMemberState(v []byte) (memberState, error) {
	if len(v) < 9 {
		return memberState{}, errCorrupt
	}
	return memberState{rev: eventlog.Revision(binary.BigEndian.Uint64(v)), deleted: v[8] == 1, uid: string(v[9:])}, nil
}

func decodeRevision(v []byte) (eventlog.Revision, error) {
	if len(v) != 8 {
		return 0, errCorrupt
	}
	return eventlog.Revision(binary.BigEndian.Uint64(v)), nil
}

func encodeIndexHorizon(h IndexHorizon) []byte {
	return enc(nil).uvarint(uint64(h.Revision)).time(h.Through)
}

func decodeIndexHorizon(v []byte) (IndexHorizon, error) {
	d := dec{b: v}
	h := IndexHorizon{Revision: eventlog.Revision(d.uvarint()), Through: d.time()}
	return h, d.done()
}

func encodePosition(p eventlog.Position) []byte { return binary.BigEndian.AppendUint64(nil, uint64(p)) }

func decodePosition(v []byte) (eventlog.Position, error) {
	if len(v) != 8 {
		return 0, errCorrupt
	}
	return eventlog.Position(binary.BigEndian.Uint64(v)), nil
}
