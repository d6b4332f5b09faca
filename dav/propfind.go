package dav

import (
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/kalends/kalends/projections"
)

// load reads what a target names from the view; errNotFound if it does not
// exist (or its principal is disabled).
func (s *server) load(v *projections.View, t target, me string) (*resource, error) {
	res := &resource{t: t, me: me}
	if t.owner != "" {
		p, ok, err := v.Principal(t.owner)
		if err != nil {
			return nil, err
		}
		if !ok || p.Disabled {
			return nil, errNotFound
		}
		res.principal = p
	}
	if t.cal != "" {
		cal, ok, err := v.Calendar(t.owner, t.cal)
		if err != nil {
			return nil, err
		}
		if !ok || cal.Deleted {
			return nil, errNotFound
		}
		res.cal = cal
	}
	if t.obj != "" {
		obj, ok, err := v.Object(t.owner, t.cal, t.obj)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errNotFound
		}
		res.obj = obj
	}
	return res, nil
}

// viewFor opens what a read handler reads t from: the live projections, or
// the replayed store of the as-of view t is in (asof.go), so that one
// handler serves both. Close it when done.
func (s *server) viewFor(t target) *projections.View {
	if t.at != nil {
		return t.at.store.View()
	}
	return s.cfg.Store.View()
}

// propRequest is a parsed PROPFIND body.
type propRequest struct {
	names    []xml.Name // for prop
	allprop  bool
	propname bool
	include  []xml.Name // allprop's DAV:include
}

func parsePropRequest(root *node) (propRequest, error) {
	if root == nil {
		return propRequest{allprop: true}, nil // RFC 4918 §9.1: an empty body is allprop
	}
	if !root.is(nsDAV, "propfind") {
		return propRequest{}, errStatus(http.StatusBadRequest, "expected DAV:propfind")
	}
	var pr propRequest
	for _, c := range root.Children {
		switch {
		case c.is(nsDAV, "prop"):
			pr.names = childNames(c)
		case c.is(nsDAV, "allprop"):
			pr.allprop = true
		case c.is(nsDAV, "propname"):
			pr.propname = true
		case c.is(nsDAV, "include"):
			pr.include = childNames(c)
		}
	}
	if pr.names == nil && !pr.allprop && !pr.propname {
		return pr, errStatus(http.StatusBadRequest, "propfind needs prop, allprop or propname")
	}
	return pr, nil
}

func childNames(n *node) []xml.Name {
	names := make([]xml.Name, 0, len(n.Children))
	for _, c := range n.Children {
		names = append(names, c.Name)
	}
	return names
}

// depth reads the Depth header. A missing header means 1 here rather than
// RFC 4918's infinity: SabreDAV does the same, because clients that omit it
// mean "this collection and its members", and refusing them helps nobody.
// An explicit infinity is refused (RFC 4918 §9.1 allows that).
func depth(r *http.Request) (int, error) {
	switch strings.TrimSpace(strings.ToLower(r.Header.Get("Depth"))) {
	case "0":
		return 0, nil
	case "1", "":
		return 1, nil
	case "infinity":
		return 0, errFiniteDepth
	}
	return 0, errStatus(http.StatusBadRequest, "bad Depth header")
}

// readPropfind reads what every PROPFIND asks: the depth and the body.
func readPropfind(r *http.Request) (int, propRequest, error) {
	d, err := depth(r)
	if err != nil {
		return 0, propRequest{}, err
	}
	root, err := parseXML(r.Body)
	if err != nil {
		return 0, propRequest{}, badXML(err)
	}
	pr, err := parsePropRequest(root)
	return d, pr, err
}

func (s *server) propfind(w http.ResponseWriter, r *http.Request, t target) error {
	d, pr, err := readPropfind(r)
	if err != nil {
		return err
	}
	v := s.viewFor(t)
	defer v.Close()
	res, err := s.load(v, t, info(r).principal)
	if err != nil {
		return err
	}
	answer := func(res *resource) []propstat {
		switch {
		case pr.propname:
			return s.allProps(res, true, nil)
		case pr.allprop:
			return s.allProps(res, false, pr.include)
		}
		return s.propsFor(res, pr.names)
	}
	// RFC 8144 §5: a client listing a collection's members may ask to be
	// spared the collection itself.
	_, noRoot := preferences(r)["depth-noroot"]
	noRoot = noRoot && d == 1
	if noRoot {
		preferenceApplied(w, "depth-noroot")
	}
	ms := startMultistatus(w, r, "multistatus")
	if !noRoot {
		ms.response(t.href(), answer(res))
	}
	if d == 1 {
		err = s.members(v, res, func(m *resource) error {
			ms.response(m.t.href(), answer(m))
			return nil
		})
	}
	if err != nil {
		// The 207 is already on its way; a broken body is all that can
		// tell the client something went wrong.
		s.requestLog(r).Error().Err(err).Msg("propfind members")
		return nil
	}
	return ms.close("multistatus", "")
}

// members calls fn for each child of a collection a PROPFIND Depth 1 lists.
// The principal collections list only the requester: principals are not
// enumerable.
func (s *server) members(v *projections.View, res *resource, fn func(*resource) error) error {
	me := res.me
	switch res.t.kind {
	case kindRoot:
		for _, k := range []kind{kindPrincipals, kindHomes} {
			if err := fn(&resource{t: target{kind: k}, me: me}); err != nil {
				return err
			}
		}
	case kindPrincipals:
		return fn(&resource{t: target{kind: kindPrincipalUsers}, me: me})
	case kindPrincipalUsers:
		child, err := s.load(v, target{kind: kindPrincipal, owner: me}, me)
		if err != nil {
			return err
		}
		return fn(child)
	case kindHomes:
		return fn(&resource{t: target{kind: kindHome, owner: me}, me: me, principal: res.principal})
	case kindHome:
		return v.Calendars(res.t.owner, func(cal projections.Calendar) error {
			return fn(&resource{t: target{kind: kindCalendar, owner: cal.Owner, cal: cal.Name}, me: me, principal: res.principal, cal: cal})
		})
	case kindCalendar:
		child := &resource{me: me, principal: res.principal, cal: res.cal}
		return v.Objects(res.t.owner, res.t.cal, false, func(o projections.Object) error {
			child.t = res.t.member(o.Name)
			child.obj = o
			return fn(child)
		})
	}
	return nil
}

func badXML(err error) error {
	return errStatus(http.StatusBadRequest, "malformed XML: "+err.Error())
}
