package dav

import "net/http"

// STUB, replaced by the trash work (issue 4).
const trashPrefix = "/trash/"

func (s *server) serveTrash(w http.ResponseWriter, r *http.Request, rest string) error {
	return errStatus(http.StatusNotImplemented, "trash is not built yet")
}
