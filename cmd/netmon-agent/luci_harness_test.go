package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// A luciHarness serves the harness, the views and cgi-exec for sessions
// of a given access level; exec runs what the ACL lets through.
type luciHarness struct {
	t        *testing.T
	url      string
	sessions map[string][]grant
	exec     func(params []string) (stdout, stderr []byte, code int)
	// files maps the router's paths that cgi-upload may write to the
	// test's files; exec gets its params with them mapped too.
	files map[string]string
	// uciFile is the config rpcd's uci serves as "netmon"; onApply is what
	// procd's reload trigger does once a change to it is applied.
	uciFile string
	onApply func()
	staged  map[string]map[string]any // by config: what uci save staged

	mu   sync.Mutex
	used map[grant]bool // file grants that let a call through
}

func newLuCIHarness(t *testing.T, exec func(params []string) (stdout, stderr []byte, code int)) *luciHarness {
	t.Helper()
	h := &luciHarness{t: t, exec: exec, used: map[grant]bool{}, files: map[string]string{}, sessions: map[string][]grant{
		"none": nil, "read": aclGrants(t, luciACL, "read"), "write": aclGrants(t, luciACL, "write"),
	}}
	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServer(http.Dir(filepath.Join("testdata", "luci"))))
	mux.Handle("GET /view/", http.StripPrefix("/view/", http.FileServer(http.Dir(luciViews))))
	mux.Handle("GET /resources/", http.StripPrefix("/resources/", http.FileServer(http.Dir(filepath.Dir(luciViews)))))
	mux.HandleFunc("POST /cgi-bin/cgi-exec", h.cgiExec)
	mux.HandleFunc("POST /ubus/file/exec", h.fileExec)
	mux.HandleFunc("POST /cgi-bin/cgi-upload", h.cgiUpload)
	mux.HandleFunc("POST /ubus/uci/get", h.uciGet)
	mux.HandleFunc("POST /ubus/uci/save", h.uciSave)
	mux.HandleFunc("POST /ubus/uci/apply", h.uciApply)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	h.url = "http://" + ln.Addr().String() + "/"
	return h
}

func (h *luciHarness) cgiExec(rw http.ResponseWriter, r *http.Request) {
	var req struct {
		SessionID string   `json:"sessionid"`
		Command   string   `json:"command"`
		Params    []string `json:"params"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(rw, "Invalid command parameter", http.StatusBadRequest)
		return
	}
	g, err := execAllowed(h.sessions[req.SessionID], req.Command, req.Params)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusForbidden)
		return
	}
	h.mu.Lock()
	h.used[g] = true
	h.mu.Unlock()
	if req.Command != "/usr/sbin/netmon-agent" {
		http.Error(rw, "Executable not found", http.StatusNotFound)
		return
	}
	// cgi-exec answers with what the command printed on its standard
	// output, whatever its exit status.
	out, _, _ := h.exec(req.Params)
	rw.Write(out)
}

// fileExec is rpcd's ubus "file" "exec"; it answers code, stdout and
// stderr.
func (h *luciHarness) fileExec(rw http.ResponseWriter, r *http.Request) {
	var req struct {
		SessionID string   `json:"sessionid"`
		Command   string   `json:"command"`
		Params    []string `json:"params"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(rw, `{"error": "Invalid argument"}`, http.StatusBadRequest)
		return
	}
	g, err := fileExecAllowed(h.sessions[req.SessionID], req.Command, req.Params)
	if err != nil {
		rw.WriteHeader(http.StatusForbidden)
		json.NewEncoder(rw).Encode(map[string]string{"error": err.Error()})
		return
	}
	h.mu.Lock()
	h.used[g] = true
	h.mu.Unlock()
	params := slices.Clone(req.Params)
	for i, p := range params {
		if local, ok := h.files[p]; ok {
			params[i] = local
		}
	}
	out, errOut, code := h.exec(params)
	json.NewEncoder(rw).Encode(map[string]any{"code": code, "stdout": string(out), "stderr": string(errOut)})
}

// cgiUpload is cgi-io's upload: multipart parts sessionid, filename,
// filemode and filedata, in that order; the session needs cgi-io upload
// and file write on the path. It answers 200 with the size, or with a
// message and failure, as cgi-io does.
func (h *luciHarness) cgiUpload(rw http.ResponseWriter, r *http.Request) {
	fail := func(msg string) {
		json.NewEncoder(rw).Encode(map[string]any{"message": msg, "failure": []any{1, "Operation not permitted"}})
	}
	mr, err := r.MultipartReader()
	if err != nil {
		fail("Invalid request")
		return
	}
	var session, path string
	for {
		part, err := mr.NextPart()
		if err != nil {
			fail("No file data received")
			return
		}
		value := func() string { b, _ := io.ReadAll(part); return string(b) }
		switch part.FormName() {
		case "sessionid":
			session = value()
			if _, ok := allowed(h.sessions[session], "cgi-io", "upload", "write"); !ok {
				fail("Upload permission denied")
				return
			}
		case "filename":
			path = value()
		case "filedata":
			g, ok := allowed(h.sessions[session], "file", path, "write")
			local := h.files[path]
			if !ok || local == "" {
				fail("Access to path denied by ACL")
				return
			}
			f, err := os.OpenFile(local, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
			if err != nil {
				fail("Failed to open target file")
				return
			}
			n, err := io.Copy(f, part)
			if cerr := f.Close(); err != nil || cerr != nil {
				fail("I/O failure while writing target file")
				return
			}
			h.mu.Lock()
			h.used[g] = true
			h.mu.Unlock()
			json.NewEncoder(rw).Encode(map[string]any{"size": n})
			return
		}
	}
}

// unusedGrants are the file grants of the ACL that no call used: excess
// privilege, once every view has run all it runs.
func (h *luciHarness) unusedGrants() []grant {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []grant
	for _, g := range h.sessions["write"] {
		if g.scope == "file" && !h.used[g] {
			out = append(out, g)
		}
	}
	return out
}
