//go:build !noweb

package web

import (
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/control"
	"github.com/netmon-agent/netmon-agent/agent/report"
	"github.com/netmon-agent/netmon-agent/agent/units"
	"github.com/netmon-agent/netmon-agent/store"
)

// The daemon's web server, when `option listen` is set: one embedded page,
// a JSON API behind it with the CLI's field names, and /metrics for
// Prometheus. Every handler asks the daemon's loop, which owns the state,
// as the control socket does: a slow or hostile client holds only its own
// goroutine, never a sample. A router's LAN is not trusted: reads need the
// token unless public_read is on, changes always need it, and only as a
// same-origin POST.

//go:embed index.html app.js app.css
var Files embed.FS

// Limits of one client.
const (
	webMaxBody  = 4 << 10 // a block request is a few dozen bytes
	webMaxConns = 32      // beyond, new connections are closed at once
	webAskWait  = 10 * time.Second
)

// Timeouts bound each connection (tests shorten them). Headers come in one
// packet from any real client; 3 s frees a slot a slow one holds soon.
var Timeouts = struct{ Header, Read, Write, Idle time.Duration }{3 * time.Second, 10 * time.Second, 30 * time.Second, 60 * time.Second}

// webSettings are the parts of the config the server reads per request;
// SIGHUP replaces them.
type webSettings struct {
	token      string
	publicRead bool
	interval   time.Duration
}

type Server struct {
	settings atomic.Pointer[webSettings]
	calls    chan<- control.Call
	done     <-chan struct{}
	srv      *http.Server
}

// startWeb listens on cfg.Listen and serves until done closes.
func Start(cfg *config.Config, calls chan<- control.Call, done <-chan struct{}, logf func(string, ...any)) (*Server, error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("option listen %s: %w", cfg.Listen, err)
	}
	w := &Server{calls: calls, done: done}
	w.Configure(cfg)
	w.srv = &http.Server{
		Handler:           w.trustTokens(w.routes()),
		ConnContext:       withConn,
		ReadHeaderTimeout: Timeouts.Header,
		ReadTimeout:       Timeouts.Read,
		WriteTimeout:      Timeouts.Write,
		IdleTimeout:       Timeouts.Idle,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          log.New(io.Discard, "", 0), // a client's broken handshake is no news
	}
	go func() {
		if err := w.srv.Serve(LimitListener(ln, webMaxConns)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logf("web server on %s: %v", cfg.Listen, err)
		}
	}()
	go func() {
		<-done
		w.srv.Close()
	}()
	if cfg.Token == "" && !cfg.PublicRead {
		logf("web server on %s: no option token, so it answers nothing but its page (set option token, or public_read '1' for reads)", cfg.Listen)
	}
	return w, nil
}

// Configure takes the settings of a new config.
func (w *Server) Configure(cfg *config.Config) {
	w.settings.Store(&webSettings{token: cfg.Token, publicRead: cfg.PublicRead, interval: cfg.Interval})
}

func (w *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", w.file("index.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET /app.js", w.file("app.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /app.css", w.file("app.css", "text/css; charset=utf-8"))
	mux.HandleFunc("GET /api/hosts", w.read(func(r *http.Request) (any, error) {
		resp, err := w.ask(control.Request{Op: control.OpHosts})
		return resp, err
	}))
	mux.HandleFunc("GET /api/services", w.read(func(r *http.Request) (any, error) {
		resp, err := w.ask(control.Request{Op: control.OpServices})
		return resp, err
	}))
	mux.HandleFunc("GET /api/meters", w.read(func(r *http.Request) (any, error) {
		resp, err := w.ask(control.Request{Op: control.OpReport})
		return resp, err
	}))
	mux.HandleFunc("GET /api/blocks", w.read(func(r *http.Request) (any, error) {
		resp, err := w.ask(control.Request{Op: control.OpBlocks})
		return resp, err
	}))
	mux.HandleFunc("GET /api/history", w.read(func(r *http.Request) (any, error) {
		q, err := historyParams(r.URL.Query())
		if err != nil {
			return nil, badRequest(err)
		}
		resp, err := w.ask(control.Request{Op: control.OpHistory, History: &q})
		return resp, err
	}))
	for _, kind := range []string{control.KindBlock, control.KindThrottle} {
		for _, lift := range []bool{false, true} {
			path := "POST /api/" + kind
			if lift {
				path = "POST /api/un" + kind
			}
			mux.HandleFunc(path, w.change(func(body blockBody) (any, error) {
				r, err := body.restriction(kind, lift)
				if err != nil {
					return nil, err
				}
				return w.ask(control.Request{Op: control.OpRestrict, Restriction: &r})
			}))
		}
	}
	mux.HandleFunc("GET /metrics", func(rw http.ResponseWriter, r *http.Request) {
		if !w.authorized(rw, r, false) {
			return
		}
		resp, err := w.ask(control.Request{Op: control.OpMetrics})
		m, ok := resp.(*report.Metrics)
		if err == nil && !ok {
			err = fmt.Errorf("the daemon answered %T to metrics", resp)
		}
		if err != nil {
			writeError(rw, err)
			return
		}
		rw.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		report.WriteMetrics(rw, m)
	})
	return securityHeaders(mux)
}

// securityHeaders: the page runs nothing but its own script, in no frame.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		hd := rw.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(rw, r)
	})
}

func (w *Server) file(name, ctype string) http.HandlerFunc {
	data, err := Files.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time: a missing file is a build error
	}
	return func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", ctype)
		rw.Header().Set("Cache-Control", "no-cache")
		rw.Write(data)
	}
}

// An httpError carries its status.
type httpError struct {
	status int
	err    error
}

func (e *httpError) Error() string { return e.err.Error() }
func (e *httpError) Unwrap() error { return e.err }

func badRequest(err error) error { return &httpError{http.StatusBadRequest, err} }

func writeError(rw http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	var he *httpError
	switch {
	case errors.As(err, &he):
		status = he.status
	case errors.Is(err, control.ErrNotFound):
		status = http.StatusNotFound
	}
	writeJSON(rw, status, map[string]string{"error": err.Error()})
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Cache-Control", "no-store")
	rw.WriteHeader(status)
	enc := json.NewEncoder(rw)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// read serves a GET of the API.
func (w *Server) read(f func(r *http.Request) (any, error)) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		if !w.authorized(rw, r, false) {
			return
		}
		v, err := f(r)
		if err != nil {
			writeError(rw, err)
			return
		}
		rw.Header().Set("X-Netmon-Interval", strconv.FormatFloat(w.settings.Load().interval.Seconds(), 'f', -1, 64))
		writeJSON(rw, http.StatusOK, v)
	}
}

// change serves a POST that changes state: the token, the same origin,
// JSON of at most webMaxBody bytes.
func (w *Server) change(f func(body blockBody) (any, error)) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		if err := sameOrigin(r); err != nil {
			writeJSON(rw, http.StatusForbidden, map[string]string{"error": err.Error()})
			return
		}
		if !w.authorized(rw, r, true) {
			return
		}
		if ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); strings.TrimSpace(ct) != "application/json" {
			writeJSON(rw, http.StatusUnsupportedMediaType, map[string]string{"error": "send the request as application/json"})
			return
		}
		body, status, err := readBlockBody(rw, r)
		if err != nil {
			writeJSON(rw, status, map[string]string{"error": "malformed request: " + err.Error()})
			return
		}
		if strings.TrimSpace(body.Host) == "" {
			writeJSON(rw, http.StatusBadRequest, map[string]string{"error": "host is missing: an address, a MAC or a name"})
			return
		}
		if len(body.Reason) > 200 {
			writeJSON(rw, http.StatusBadRequest, map[string]string{"error": "reason is longer than 200 bytes"})
			return
		}
		v, err := f(body)
		if err != nil {
			writeError(rw, err)
			return
		}
		writeJSON(rw, http.StatusOK, v)
	}
}

// sameOrigin refuses a request a browser sent from another site's page: a
// browser names the page's origin on every POST (Origin) and, in current
// ones, says whether it is this site (Sec-Fetch-Site). Clients that are no
// browser (curl, scripts) send neither; the token is what stops them.
func sameOrigin(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return fmt.Errorf("cross-site request refused (Sec-Fetch-Site: %s)", site)
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host != r.Host || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("cross-site request refused (Origin %s is not %s)", origin, r.Host)
	}
	return nil
}

// authorized checks the bearer token; it answers the refusal itself.
func (w *Server) authorized(rw http.ResponseWriter, r *http.Request, change bool) bool {
	s := w.settings.Load()
	if !change && s.publicRead {
		return true
	}
	if s.token == "" {
		what := "reads need option token (or option public_read '1')"
		if change {
			what = "changes need option token"
		}
		writeJSON(rw, http.StatusForbidden, map[string]string{"error": "no token is configured: " + what})
		return false
	}
	if sent, ok := s.tokenOK(r); !ok {
		rw.Header().Set("WWW-Authenticate", `Bearer realm="netmon-agent"`)
		msg := "missing token: send Authorization: Bearer TOKEN (netmon-agent token shows it)"
		if sent {
			msg = "wrong token"
		}
		writeJSON(rw, http.StatusUnauthorized, map[string]string{"error": msg})
		return false
	}
	return true
}

// tokenOK says whether r sent a bearer token, and whether it is the one
// configured.
func (s *webSettings) tokenOK(r *http.Request) (sent, ok bool) {
	got, sent := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return sent, sent && s.token != "" && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(s.token)) == 1
}

// trustTokens keeps a connection whose request carries the token from
// being evicted while the request runs (web_conns.go).
func (w *Server) trustTokens(h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if _, ok := w.settings.Load().tokenOK(r); ok {
			defer trustRequest(r.Context())()
		}
		h.ServeHTTP(rw, r)
	})
}

// ask hands req to the daemon's loop and waits for its answer's body, a
// bounded time.
func (w *Server) ask(req control.Request) (any, error) {
	resp := control.Send(w.calls, w.done, req, webAskWait)
	err := resp.Err()
	if resp.Unavailable {
		err = &httpError{http.StatusServiceUnavailable, err}
	}
	return resp.Body, err
}

// historyParams reads /api/history's query: resolution (5min, hour, day,
// month, year), limit, begin, end (YYYY-MM-DD[ HH:MM] local, or RFC 3339),
// meter, host.
func historyParams(v url.Values) (report.HistoryQuery, error) {
	for k := range v {
		switch k {
		case "resolution", "limit", "begin", "end", "meter", "host":
		default:
			return report.HistoryQuery{}, fmt.Errorf("unknown parameter %q (resolution, limit, begin, end, meter, host)", k)
		}
	}
	q := report.HistoryQuery{Resolution: v.Get("resolution"), Meter: v.Get("meter"), Host: v.Get("host")}
	if q.Resolution == "" {
		return q, errors.New("resolution is missing: 5min, hour, day, month or year")
	}
	if _, err := store.ParseResolution(q.Resolution); err != nil {
		return q, err
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > report.MaxLimit {
			return q, fmt.Errorf("limit %q: a number of rows from 1 to %d", s, report.MaxLimit)
		}
		q.Limit = n
	}
	for _, b := range []struct {
		name string
		t    *time.Time
	}{{"begin", &q.Begin}, {"end", &q.End}} {
		s := v.Get(b.name)
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, s)
		if err == nil && (t.Year() < units.MinYear || t.Year() > units.MaxYear) {
			err = fmt.Errorf("date %q: year %d is out of range (%d-%d)", s, t.Year(), units.MinYear, units.MaxYear)
		} else if err != nil {
			t, err = units.ParseDate(s, time.Local)
		}
		if err != nil {
			return q, fmt.Errorf("%s: %w", b.name, err)
		}
		*b.t = t
	}
	return q, q.Check()
}
