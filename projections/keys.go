package projections

import (
	"encoding/binary"

	"github.com/kalends/kalends/eventlog"
)

// Key layout. Every key starts with a one-byte table tag. Identity components
// are separated by 0x00, which no principal, calendar or object name can hold
// (domain.ValidPrincipalName and domain.ValidResourceName; Apply refuses the
// rest), so that a prefix ending in 0x00 selects exactly one owner or one
// calendar. The last component may hold any byte: nothing follows it.
// Revisions are 8-byte big-endian so that byte order is revision order.
//
//	'v'                                     → projection schema version (uvarint)
//	'k'                                     → checkpoint: last applied position (8 bytes BE)
//	'p' principal                           → Principal
//	'c' owner 0x00 cal                      → Calendar, kept after deletion
//	'o' owner 0x00 cal 0x00 name            → object metadata, without data
//	'd' owner 0x00 cal 0x00 name            → object data: the raw iCalendar text
//	'u' owner 0x00 cal 0x00 uid             → name of the object holding uid
//	'x' owner 0x00 cal 0x00 revision        → change: 1 byte (1 = deleted) + name
//	'n' owner 0x00 cal 0x00 name            → member state: revision (8 bytes BE)
//	                                          of name's one entry in 'x', 1 byte
//	                                          (1 = deleted), UID if live
//	't', 'e', 'i', 'h'                      → the time-range and free-busy
//	                                          index and its horizon, laid out
//	                                          in timerange.go
//
// Metadata and data live in separate tables so that listing a calendar
// (PROPFIND Depth 1, ETag checks) never reads object bodies. The change index
// 'x' keeps one entry per name: recording a change looks up the name's state
// in 'n' and deletes the older entry, so a sync from any revision scans only
// the names changed since, each once, tombstones included. The state also
// carries the live UID, so applying a put or delete reads one small key and
// never the metadata.
// CalendarDeleted range-deletes the calendar's spans in every per-calendar
// table, so the indexes only ever describe the current incarnation.
const (
	tagSchema     = 'v'
	tagCheckpoint = 'k'
	tagPrincipal  = 'p'
	tagCalendar   = 'c'
	tagObject     = 'o'
	tagData       = 'd'
	tagUID        = 'u'
	tagChange     = 'x'
	tagMember     = 'n'
	tagTime       = 't'
	tagOpenEnded  = 'e'
	tagTimeIndex  = 'i'
	tagHorizon    = 'h'
)

// calendarTables are the per-calendar tables that a CalendarDeleted clears.
var calendarTables = []byte{tagObject, tagData, tagUID, tagChange, tagMember, tagTime, tagOpenEnded, tagTimeIndex}

const sep = 0x00

var (
	schemaKey     = []byte{tagSchema}
	checkpointKey = []byte{tagCheckpoint}
	horizonKey    = []byte{tagHorizon}
)

func principalKey(name string) []byte {
	return append([]byte{tagPrincipal}, name...)
}

// ownerPrefix selects every calendar record of owner.
func ownerPrefix(owner string) []byte {
	k := make([]byte, 0, len(owner)+2)
	k = append(k, tagCalendar)
	k = append(k, owner...)
	return append(k, sep)
}

func calendarKey(owner, cal string) []byte {
	return append(ownerPrefix(owner), cal...)
}

// calendarMember is what follows the tag in every key of a calendar's
// members.
func calendarMember(owner, cal string) string {
	return owner + string(rune(sep)) + cal + string(rune(sep))
}

// calPrefix selects table's entries of one calendar.
func calPrefix(table byte, owner, cal string) []byte {
	return append([]byte{table}, calendarMember(owner, cal)...)
}

// memberKey is a key of a per-calendar table whose last component is a
// name or UID.
func memberKey(table byte, owner, cal, member string) []byte {
	return append(calPrefix(table, owner, cal), member...)
}

func changeKey(owner, cal string, rev eventlog.Revision) []byte {
	return binary.BigEndian.AppendUint64(calPrefix(tagChange, owner, cal), uint64(rev))
}

// prefixEnd is the smallest key greater than every key starting with prefix.
// Our prefixes never end in 0xff, so incrementing the last byte is enough.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	end[len(end)-1]++
	return end
}
