package dav

import "net/http"

// STUB, replaced by the history work (issue 4).
const historyPrefix = "/history/"

func (s *server) serveHistory(w http.ResponseWriter, r *http.Request, rest string) error {
	return errStatus(http.StatusNotImplemented, "history is not built yet")
}
