package dav

import "net/http"

// STUB, replaced by the as-of work (issue 4).
const asOfPrefix = "/asof/"

func (s *server) serveAsOf(w http.ResponseWriter, r *http.Request, rest string) error {
	return errStatus(http.StatusNotImplemented, "as-of views are not built yet")
}
