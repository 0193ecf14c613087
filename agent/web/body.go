//go:build !noweb

package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/control"
	"github.com/netmon-agent/netmon-agent/agent/units"
)

// The bodies of the API's POSTs, read strictly: one JSON object of known
// keys, each once, within webMaxBody bytes.

// blockBody is the JSON of POST /api/block, /api/unblock, /api/throttle
// and /api/unthrottle.
type blockBody struct {
	Host   string `json:"host"`
	For    string `json:"for,omitempty"` // 30m, 2h, 7d; empty: until lifted by hand
	Reason string `json:"reason,omitempty"`
	Rate   string `json:"rate,omitempty"`    // a throttle's: 2mbit, 500kbit
	RateUp string `json:"rate_up,omitempty"` // empty: Rate
}

// duration reads For; empty is 0, until lifted by hand.
func (b blockBody) duration() (time.Duration, error) {
	if b.For == "" {
		return 0, nil
	}
	d, err := units.ParseDuration(b.For)
	if err != nil {
		return 0, badRequest(err)
	}
	return d, nil
}

// rates reads a throttle's rates in bits per second.
func (b blockBody) rates() (down, up uint64, err error) {
	if b.Rate == "" {
		return 0, 0, badRequest(errors.New("rate is missing: bits per second, such as 2mbit"))
	}
	if down, err = units.ParseThrottle(b.Rate); err != nil {
		return 0, 0, badRequest(err)
	}
	up = down
	if b.RateUp != "" {
		if up, err = units.ParseThrottle(b.RateUp); err != nil {
			return 0, 0, badRequest(fmt.Errorf("rate_up: %w", err))
		}
	}
	return down, up, nil
}

// restriction is the body as a restriction of kind, or with lift its
// lifting (which reads only the host).
func (b blockBody) restriction(kind string, lift bool) (control.Restriction, error) {
	r := control.Restriction{Kind: kind, Lift: lift, Host: b.Host}
	if lift {
		return r, nil
	}
	var err error
	if r.For, err = b.duration(); err != nil {
		return r, err
	}
	r.Reason = b.Reason
	if kind != control.KindThrottle {
		if b.Rate != "" || b.RateUp != "" {
			return r, badRequest(errors.New("rate and rate_up are for /api/throttle"))
		}
		return r, nil
	}
	r.Rate, r.RateUp, err = b.rates()
	return r, err
}

// readBlockBody reads a POST's JSON: one object of blockBody's fields,
// each at most once, within webMaxBody bytes; else the status to refuse
// it with.
func readBlockBody(rw http.ResponseWriter, r *http.Request) (blockBody, int, error) {
	var body blockBody
	data, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, webMaxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return body, http.StatusRequestEntityTooLarge, err
	}
	if err != nil {
		return body, http.StatusBadRequest, err
	}
	if err := uniqueKeys(data); err != nil {
		return body, http.StatusBadRequest, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return body, http.StatusBadRequest, err
	}
	if dec.More() {
		return body, http.StatusBadRequest, errors.New("more than one JSON value")
	}
	return body, 0, nil
}

// uniqueKeys refuses a JSON object that names a key twice: Go's decoder
// takes the last, a proxy or a log may show the first.
func uniqueKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errors.New("the body is not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := t.(string)
		if seen[key] {
			return fmt.Errorf("key %q appears twice", key)
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	return nil
}
