package domain

import (
	"fmt"
	"sort"
	"strings"
	"time"

	ical "github.com/emersion/go-ical"
)

// The FBTYPE values a free-busy answer carries (RFC 5545 §3.2.9).
const (
	FBBusy            = "BUSY"
	FBBusyTentative   = "BUSY-TENTATIVE"
	FBBusyUnavailable = "BUSY-UNAVAILABLE"
	fbFree            = "FREE"
)

// BusyPeriod is a span of time and how busy it is.
type BusyPeriod struct {
	Start, End time.Time // UTC
	Type       string    // FBBusy, FBBusyTentative or FBBusyUnavailable
}

// BusyPeriods is what one object contributes to a free-busy-query over tr
// (RFC 4791 §7.10): each VEVENT instance that takes time, is not
// TRANSP:TRANSPARENT and not STATUS:CANCELLED — BUSY-TENTATIVE when
// TENTATIVE, BUSY otherwise — and each non-FREE FREEBUSY period of a
// VFREEBUSY, all clipped to tr. The instance's own component decides, so a
// cancelled override frees its slot. Nothing but times and types leaves.
func BusyPeriods(obj *Object, tr TimeRange, floating *time.Location, lim ExpandLimits) ([]BusyPeriod, error) {
	ins, err := obj.Instances(tr, floating, lim)
	if err != nil {
		return nil, err
	}
	out := instancesBusy(nil, ins, tr)
	c := obj.ctx(floating)
	for _, comp := range obj.Components {
		if comp.Name != ical.CompFreeBusy {
			continue
		}
		periods, err := c.freeBusyPeriods(comp)
		if err != nil {
			return nil, err
		}
		for _, p := range periods {
			if p.Type != fbFree {
				out = appendClipped(out, tr, p.Start, p.End, p.Type)
			}
		}
	}
	return MergeBusy(out), nil
}

// BusyOfInstances is the busy time of already expanded instances (those of
// an object without VFREEBUSY components, as BusyPeriods would find them
// over tr), for a caller that needed the instances anyway and should not
// expand the object twice.
func BusyOfInstances(ins []Instance, tr TimeRange) []BusyPeriod {
	return MergeBusy(instancesBusy(nil, ins, tr))
}

// instancesBusy appends the busy time of each VEVENT instance that takes
// time, per its own component's STATUS and TRANSP (eventBusyType).
func instancesBusy(out []BusyPeriod, ins []Instance, tr TimeRange) []BusyPeriod {
	for _, in := range ins {
		if in.Component.Name != ical.CompEvent {
			continue
		}
		if typ := eventBusyType(in.Component); typ != "" {
			out = appendClipped(out, tr, in.Start, in.End, typ)
		}
	}
	return out
}

// appendClipped appends [start, end) clipped to tr, if anything is left.
func appendClipped(out []BusyPeriod, tr TimeRange, start, end time.Time, typ string) []BusyPeriod {
	if !tr.Start.IsZero() && start.Before(tr.Start) {
		start = tr.Start
	}
	if !tr.End.IsZero() && end.After(tr.End) {
		end = tr.End
	}
	if end.After(start) {
		out = append(out, BusyPeriod{Start: start, End: end, Type: typ})
	}
	return out
}

func eventBusyType(comp *ical.Component) string {
	if p := comp.Props.Get(ical.PropTransparency); p != nil && strings.EqualFold(p.Value, "TRANSPARENT") {
		return ""
	}
	status := ""
	if p := comp.Props.Get(ical.PropStatus); p != nil {
		status = strings.ToUpper(p.Value)
	}
	switch status {
	case "CANCELLED":
		return ""
	case "TENTATIVE":
		return FBBusyTentative
	}
	return FBBusy
}

// MergeBusy coalesces overlapping and touching periods of the same type and
// sorts the result by start, then type: the form a VFREEBUSY answer takes.
func MergeBusy(periods []BusyPeriod) []BusyPeriod {
	sorted := append([]BusyPeriod(nil), periods...)
	sort.Slice(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.Start.Before(b.Start)
	})
	var out []BusyPeriod
	for _, p := range sorted {
		if n := len(out); n > 0 && out[n-1].Type == p.Type && !p.Start.After(out[n-1].End) {
			if p.End.After(out[n-1].End) {
				out[n-1].End = p.End
			}
			continue
		}
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// freeBusyPeriods reads a VFREEBUSY's FREEBUSY properties: any number of
// periods per line, FBTYPE BUSY when absent (RFC 5545 §3.8.2.6).
func (c timeCtx) freeBusyPeriods(comp *ical.Component) ([]BusyPeriod, error) {
	var out []BusyPeriod
	for _, p := range comp.Props.Values(ical.PropFreeBusy) {
		typ := strings.ToUpper(p.Params.Get(ical.ParamFreeBusyType))
		if typ == "" {
			typ = FBBusy
		}
		for _, v := range strings.Split(p.Value, ",") {
			startText, endText, ok := strings.Cut(v, "/")
			if !ok {
				return nil, fmt.Errorf("FREEBUSY: %q is not a period", v)
			}
			st, err := c.value(startText, p.Params)
			if err != nil {
				return nil, fmt.Errorf("FREEBUSY: %w", err)
			}
			end, err := c.periodEnd(st, endText, p.Params)
			if err != nil {
				return nil, err
			}
			out = append(out, BusyPeriod{Start: st.instant(), End: end, Type: typ})
		}
	}
	return out, nil
}

// periodEnd reads the second half of a PERIOD (RFC 5545 §3.3.9): an
// explicit end or a duration from the start.
func (c timeCtx) periodEnd(start tval, text string, params ical.Params) (time.Time, error) {
	if strings.HasPrefix(strings.TrimLeft(strings.TrimSpace(text), "+-"), "P") {
		d, err := parseDuration(text)
		if err != nil {
			return time.Time{}, fmt.Errorf("period: %w", err)
		}
		return d.after(start), nil
	}
	end, err := c.value(text, params)
	if err != nil {
		return time.Time{}, fmt.Errorf("period: %w", err)
	}
	return end.instant(), nil
}
