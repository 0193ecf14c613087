package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"

	"github.com/netmon-agent/netmon-agent/agent/uci"
)

// The harness's stand-in for rpcd's uci object, for the settings page:
// get answers a config's sections as rpcd does ({"values": {SID: {".type",
// ".name", ".anonymous", ".index", OPTION: value or [values]}}}), save
// stages a config's sections, apply writes what was staged to the file
// and runs onApply. Each checks the session's "uci" grant on the config
// as rpcd's uci plugin does (read for get, write for the others).

// uciRequest is the body of the uci calls.
type uciRequest struct {
	SessionID string                    `json:"sessionid"`
	Config    string                    `json:"config"`
	Values    map[string]map[string]any `json:"values"`
}

func (h *luciHarness) uciCall(rw http.ResponseWriter, r *http.Request, level string) (uciRequest, bool) {
	var req uciRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeUCIError(rw, http.StatusBadRequest, "Invalid argument")
		return req, false
	}
	conf := req.Config
	if conf == "" {
		conf = "netmon"
	}
	if _, ok := allowed(h.sessions[req.SessionID], "uci", conf, level); !ok || conf != "netmon" {
		writeUCIError(rw, http.StatusForbidden, "Access denied")
		return req, false
	}
	return req, true
}

func writeUCIError(rw http.ResponseWriter, status int, msg string) {
	rw.WriteHeader(status)
	json.NewEncoder(rw).Encode(map[string]string{"error": msg})
}

func (h *luciHarness) uciGet(rw http.ResponseWriter, r *http.Request) {
	if _, ok := h.uciCall(rw, r, "read"); !ok {
		return
	}
	f, err := os.Open(h.uciFile)
	if err != nil {
		writeUCIError(rw, http.StatusNotFound, "Not found")
		return
	}
	defer f.Close()
	secs, err := uci.Parse(h.uciFile, f)
	if err != nil {
		writeUCIError(rw, http.StatusInternalServerError, err.Error())
		return
	}
	values := map[string]map[string]any{}
	for i, s := range secs {
		sid := s.Name
		if sid == "" {
			sid = fmt.Sprintf("cfg%06x", i)
		}
		v := map[string]any{".type": s.Type, ".name": sid, ".anonymous": s.Name == "", ".index": i}
		for _, o := range s.Options {
			if o.List {
				list, _ := v[o.Name].([]string)
				v[o.Name] = append(list, o.Value)
			} else {
				v[o.Name] = o.Value
			}
		}
		values[sid] = v
	}
	json.NewEncoder(rw).Encode(map[string]any{"values": values})
}

func (h *luciHarness) uciSave(rw http.ResponseWriter, r *http.Request) {
	req, ok := h.uciCall(rw, r, "write")
	if !ok {
		return
	}
	h.mu.Lock()
	h.staged = map[string]map[string]any{}
	for sid, v := range req.Values {
		h.staged[sid] = v
	}
	h.mu.Unlock()
	json.NewEncoder(rw).Encode(map[string]any{})
}

// uciApply writes the staged sections to the file, in their order, as
// libuci writes a config.
func (h *luciHarness) uciApply(rw http.ResponseWriter, r *http.Request) {
	if _, ok := h.uciCall(rw, r, "write"); !ok {
		return
	}
	h.mu.Lock()
	staged := h.staged
	h.staged = nil
	h.mu.Unlock()
	if staged == nil {
		writeUCIError(rw, http.StatusBadRequest, "No data")
		return
	}
	if err := os.WriteFile(h.uciFile, []byte(uciText(staged)), 0o600); err != nil {
		writeUCIError(rw, http.StatusInternalServerError, err.Error())
		return
	}
	if h.onApply != nil {
		h.onApply()
	}
	json.NewEncoder(rw).Encode(map[string]any{})
}

// uciText is sections as libuci writes them.
func uciText(sections map[string]map[string]any) string {
	sids := make([]string, 0, len(sections))
	for sid := range sections {
		sids = append(sids, sid)
	}
	index := func(sid string) float64 { f, _ := sections[sid][".index"].(float64); return f }
	sort.Slice(sids, func(i, j int) bool { return index(sids[i]) < index(sids[j]) })
	var b strings.Builder
	for _, sid := range sids {
		s := sections[sid]
		fmt.Fprintf(&b, "\nconfig %s", s[".type"])
		if anon, _ := s[".anonymous"].(bool); !anon {
			fmt.Fprintf(&b, " %s", uciQuote(sid))
		}
		b.WriteString("\n")
		keys := make([]string, 0, len(s))
		for k := range s {
			if !strings.HasPrefix(k, ".") {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			switch v := s[k].(type) {
			case string:
				fmt.Fprintf(&b, "\toption %s %s\n", k, uciQuote(v))
			case []any:
				for _, x := range v {
					fmt.Fprintf(&b, "\tlist %s %s\n", k, uciQuote(fmt.Sprint(x)))
				}
			}
		}
	}
	return b.String()
}

// uciQuote single-quotes v as libuci does, closing the quotes around a
// quote of its own.
func uciQuote(v string) string {
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}
