//go:build !noweb

package agent

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

	"github.com/netmon-agent/netmon-agent/store"
)

// The daemon's web server, when `option listen` is set: one embedded page,
// a JSON API behind it with the CLI's field names, and /metrics for
// Prometheus. Every handler asks the daemon's loop, which owns the state,
// as the control socket does: a slow or hostile client holds only its own
// goroutine, never a sample. A router's LAN is not trusted: reads need the
// token unless public_read is on, changes always need it, and only as a
// same-origin POST.

//go:embed web/index.html web/app.js web/app.css
var webFiles embed.FS

// Limits of one client.
const (
	webMaxBody  = 4 << 10 // a block request is a few dozen bytes
	webMaxConns = 32      // beyond, new connections are closed at once
	webAskWait  = 10 * time.Second
)

// HasWeb says whether this binary has the web server.
const HasWeb = true

// webTimeouts bound each connection (tests shorten them).
var webTimeouts = struct{ header, read, write, idle time.Duration }{5 * time.Second, 10 * time.Second, 30 * time.Second, 60 * time.Second}

// webSettings are the parts of the config the server reads per request;
// SIGHUP replaces them.
type webSettings struct {
	token      string
	publicRead bool
	interval   time.Duration
}

type webServer struct {
	settings atomic.Pointer[webSettings]
	calls    chan<- call
	done     <-chan struct{}
	srv      *http.Server
}

// startWeb listens on cfg.Listen and serves until done closes.
func startWeb(cfg *Config, calls chan<- call, done <-chan struct{}, logf func(string, ...any)) (*webServer, error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("option listen %s: %w", cfg.Listen, err)
	}
	w := &webServer{calls: calls, done: done}
	w.configure(cfg)
	w.srv = &http.Server{
		Handler:           w.routes(),
		ReadHeaderTimeout: webTimeouts.header,
		ReadTimeout:       webTimeouts.read,
		WriteTimeout:      webTimeouts.write,
		IdleTimeout:       webTimeouts.idle,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          log.New(io.Discard, "", 0), // a client's broken handshake is no news
	}
	go func() {
		if err := w.srv.Serve(limitListener(ln, webMaxConns)); err != nil && !errors.Is(err, http.ErrServerClosed) {
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

// configure takes the settings of a new config.
func (w *webServer) configure(cfg *Config) {
	w.settings.Store(&webSettings{token: cfg.Token, publicRead: cfg.PublicRead, interval: cfg.Interval})
}

func (w *webServer) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", w.file("web/index.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET /app.js", w.file("web/app.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /app.css", w.file("web/app.css", "text/css; charset=utf-8"))
	mux.HandleFunc("GET /api/hosts", w.read(func(r *http.Request) (any, error) {
		resp, err := w.ask(Request{Op: OpHosts})
		return resp.Hosts, err
	}))
	mux.HandleFunc("GET /api/meters", w.read(func(r *http.Request) (any, error) {
		resp, err := w.ask(Request{Op: OpReport})
		return resp.Report, err
	}))
	mux.HandleFunc("GET /api/blocks", w.read(func(r *http.Request) (any, error) {
		resp, err := w.ask(Request{Op: OpBlocks})
		return resp.Blocks, err
	}))
	mux.HandleFunc("GET /api/history", w.read(func(r *http.Request) (any, error) {
		q, err := historyParams(r.URL.Query())
		if err != nil {
			return nil, badRequest(err)
		}
		resp, err := w.ask(Request{Op: OpHistory, History: &q})
		return resp.History, err
	}))
	mux.HandleFunc("POST /api/block", w.change(func(body blockBody) (any, error) {
		var d time.Duration
		if body.For != "" {
			var err error
			if d, err = ParseDuration(body.For); err != nil {
				return nil, badRequest(err)
			}
		}
		resp, err := w.ask(Request{Op: OpBlock, Host: body.Host, For: d, Reason: body.Reason})
		return resp.Blocks, err
	}))
	mux.HandleFunc("POST /api/unblock", w.change(func(body blockBody) (any, error) {
		resp, err := w.ask(Request{Op: OpUnblock, Host: body.Host})
		return resp.Blocks, err
	}))
	mux.HandleFunc("GET /metrics", func(rw http.ResponseWriter, r *http.Request) {
		if !w.authorized(rw, r, false) {
			return
		}
		resp, err := w.ask(Request{Op: OpMetrics})
		if err != nil {
			writeError(rw, err)
			return
		}
		rw.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		WriteMetrics(rw, &resp)
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

func (w *webServer) file(name, ctype string) http.HandlerFunc {
	data, err := webFiles.ReadFile(name)
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
	case errors.Is(err, ErrUnknownHost):
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
func (w *webServer) read(f func(r *http.Request) (any, error)) http.HandlerFunc {
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

// blockBody is the JSON of POST /api/block and /api/unblock.
type blockBody struct {
	Host   string `json:"host"`
	For    string `json:"for,omitempty"` // 30m, 2h, 7d; empty: until unblocked
	Reason string `json:"reason,omitempty"`
}

// change serves a POST that changes state: the token, the same origin,
// JSON of at most webMaxBody bytes.
func (w *webServer) change(f func(body blockBody) (any, error)) http.HandlerFunc {
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
		var body blockBody
		dec := json.NewDecoder(http.MaxBytesReader(rw, r.Body, webMaxBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			status := http.StatusBadRequest
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				status = http.StatusRequestEntityTooLarge
			}
			writeJSON(rw, status, map[string]string{"error": "malformed request: " + err.Error()})
			return
		}
		if dec.More() {
			writeJSON(rw, http.StatusBadRequest, map[string]string{"error": "malformed request: more than one JSON value"})
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
func (w *webServer) authorized(rw http.ResponseWriter, r *http.Request, change bool) bool {
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
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(s.token)) != 1 {
		rw.Header().Set("WWW-Authenticate", `Bearer realm="netmon-agent"`)
		msg := "missing token: send Authorization: Bearer TOKEN (netmon-agent token shows it)"
		if ok {
			msg = "wrong token"
		}
		writeJSON(rw, http.StatusUnauthorized, map[string]string{"error": msg})
		return false
	}
	return true
}

// ask hands req to the daemon's loop and waits for its answer, a bounded
// time.
func (w *webServer) ask(req Request) (Response, error) {
	c := call{Request: req, reply: make(chan Response, 1)}
	timer := time.NewTimer(webAskWait)
	defer timer.Stop()
	busy := &httpError{http.StatusServiceUnavailable, errors.New("the daemon is busy; try again")}
	select {
	case w.calls <- c:
	case <-w.done:
		return Response{}, &httpError{http.StatusServiceUnavailable, errors.New("the daemon is shutting down")}
	case <-timer.C:
		return Response{}, busy
	}
	select {
	case resp := <-c.reply:
		if resp.Error != "" {
			if resp.NotFound {
				return resp, fmt.Errorf("%w: %s", ErrUnknownHost, resp.Error)
			}
			return resp, errors.New(resp.Error)
		}
		return resp, nil
	case <-w.done:
		return Response{}, &httpError{http.StatusServiceUnavailable, errors.New("the daemon is shutting down")}
	case <-timer.C:
		return Response{}, busy
	}
}

// historyParams reads /api/history's query: resolution (5min, hour, day,
// month, year), limit, begin, end (YYYY-MM-DD[ HH:MM] local, or RFC 3339),
// meter, host.
func historyParams(v url.Values) (HistoryQuery, error) {
	for k := range v {
		switch k {
		case "resolution", "limit", "begin", "end", "meter", "host":
		default:
			return HistoryQuery{}, fmt.Errorf("unknown parameter %q (resolution, limit, begin, end, meter, host)", k)
		}
	}
	q := HistoryQuery{Resolution: v.Get("resolution"), Meter: v.Get("meter"), Host: v.Get("host")}
	if q.Resolution == "" {
		return q, errors.New("resolution is missing: 5min, hour, day, month or year")
	}
	if _, err := store.ParseResolution(q.Resolution); err != nil {
		return q, err
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100000 {
			return q, fmt.Errorf("limit %q: a number of rows from 1 to 100000", s)
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
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			*b.t = t
			continue
		}
		t, err := ParseDate(s, time.Local)
		if err != nil {
			return q, fmt.Errorf("%s: %w", b.name, err)
		}
		*b.t = t
	}
	return q, nil
}
