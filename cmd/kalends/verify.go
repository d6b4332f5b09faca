package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/kalends/kalends/eventlog"
)

const verifyUsage = `  kalends verify [--head VALUE|@FILE] [--print-head] [--json]
                                        check the log's hash chains and recorded heads
`

func init() {
	registerCommand("verify", operatorCommand{usage: verifyUsage, run: runVerify, routes: verifyRoutes})
}

// errTampered is the error of a verify that found damage: the summary has
// already said where, so run only has to exit 1.
var errTampered = errors.New("the log failed verification")

// runVerify checks the log, through the server when one runs (the embedded
// log is locked by it), else by opening the log alone: no projections are
// needed to check hashes. Exit 0 means verified, 1 damage or failure.
func runVerify(ctx context.Context, args []string, c cli) error {
	fs := newFlagSet("verify", c)
	cfg := commandConfig(fs, logSettings)
	var heads []eventlog.Head
	fs.Func("head", "a head recorded earlier (POSITION:DIGEST), or @FILE of them one per line; repeatable", func(v string) error {
		h, err := parseHeadFlag(v)
		heads = append(heads, h...)
		return err
	})
	printHead := fs.Bool("print-head", false, "print only the log's head, for keeping elsewhere (nothing if verification fails)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	rest, err := cfg.parse(fs, args, c.lookupEnv)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		fmt.Fprintf(c.stderr, "kalends verify takes no arguments\n")
		return errUsage
	}

	var res eventlog.VerifyResult
	if client, err := dialAdmin(ctx, filepath.Join(cfg.Data, adminSocket)); err == nil {
		defer client.close()
		q := url.Values{}
		for _, h := range heads {
			q.Add("head", h.String())
		}
		if err := client.call(ctx, http.MethodGet, "/v1/verify?"+q.Encode(), nil, &res); err != nil {
			return err
		}
	} else {
		log, err := openLogOffline(cfg.Data)
		if err != nil {
			return err
		}
		res, err = eventlog.Verify(ctx, log, eventlog.VerifyOptions{Heads: heads, Dense: true})
		if err = errors.Join(err, log.Close()); err != nil {
			return err
		}
	}

	switch {
	case *asJSON:
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	case *printHead:
		if res.Problem == nil {
			fmt.Fprintln(c.stdout, res.Head)
		}
	default:
		printVerifySummary(c, res)
	}
	if res.Problem != nil {
		if *printHead && !*asJSON {
			fmt.Fprintf(c.stderr, "kalends verify: %v\n", res.Problem)
		}
		return errTampered
	}
	return nil
}

func printVerifySummary(c cli, res eventlog.VerifyResult) {
	fmt.Fprintf(c.stdout, "records  %d\nstreams  %d\nhead     %s\n", res.Records, res.Streams, res.Head)
	if p := res.Problem; p != nil {
		fmt.Fprintf(c.stdout, "FAILED   %s at position %d: %s\n", strings.ToUpper(string(p.Reason)), p.Position, p.Detail)
		return
	}
	checked := "no recorded head given"
	if res.HeadsChecked > 0 {
		checked = fmt.Sprintf("extends %d recorded head(s)", res.HeadsChecked)
	}
	fmt.Fprintf(c.stdout, "ok       every stream's hash chain holds; %s\n", checked)
}

// parseHeadFlag reads one --head: a head, or @FILE of heads.
func parseHeadFlag(v string) ([]eventlog.Head, error) {
	name, ok := strings.CutPrefix(v, "@")
	if !ok {
		h, err := eventlog.ParseHead(v)
		return []eventlog.Head{h}, err
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	heads, err := eventlog.ReadHeads(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return heads, nil
}

// verifyRoutes serves GET /v1/verify?head=…&head=…: the VerifyResult of the
// server's log, damage included (200); 400 for an unreadable head.
func verifyRoutes(mux *http.ServeMux, n *node) {
	mux.HandleFunc("GET /v1/verify", func(w http.ResponseWriter, r *http.Request) {
		var heads []eventlog.Head
		for _, v := range r.URL.Query()["head"] {
			h, err := eventlog.ParseHead(v)
			if err != nil {
				reply(w, 0, nil, refused(http.StatusBadRequest, "%v", err))
				return
			}
			heads = append(heads, h)
		}
		res, err := eventlog.Verify(r.Context(), n.log, eventlog.VerifyOptions{Heads: heads, Dense: true})
		reply(w, http.StatusOK, res, err)
	})
}
