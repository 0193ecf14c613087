package agent

import (
	"errors"
	"fmt"

	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/control"
)

// ErrNoRestriction means a restrict request carried no restriction.
var ErrNoRestriction = errors.New("the request names no restriction")

// Changes a person makes: blocks and throttles, their lifting, the
// since-last checkpoint. Each is one entry of changes, which the daemon's
// loop (handlers.go) and a command with no daemon (Change) both run: apply
// it to the Agent, then write it to flash at once, since a power cut must
// not undo a person's decision (counting data waits for persist_interval).
// Adding one is an entry here, a request kind in control, and its faces
// (the command, the web page's handler, LuCI's view and ACL).

type change struct {
	// what names what is in force, for the error when flash refuses it.
	what string
	// samples says applying it samples (a restriction applies at once),
	// which the daemon counts.
	samples bool
	// apply makes the change; what it returns answers the request.
	apply func(a *Agent, req control.Request) (any, error)
}

var changes = map[string]change{
	control.OpRestrict: {"the restriction", true, func(a *Agent, r control.Request) (any, error) {
		if r.Restriction == nil {
			return nil, fmt.Errorf("%s: %w", control.OpRestrict, ErrNoRestriction)
		}
		if _, err := a.Restrict(*r.Restriction); err != nil {
			return nil, err
		}
		return a.Blocks(), nil
	}},
	control.OpCheckpoint: {"the report's checkpoint", false, func(a *Agent, r control.Request) (any, error) {
		return nil, a.MoveCheckpoint(r.Checkpoint)
	}},
}

// handleChange is the daemon's handler of change c.
func handleChange(c change) handler {
	return func(d *daemon, req control.Request) control.Response {
		if c.samples {
			d.samples++
		}
		r, err := c.apply(d.a, req)
		if err != nil {
			return answer(nil, err)
		}
		return answer(r, d.persistChange(c.what))
	}
}

// Change makes the change req asks for (one of changes): through the
// daemon when one answers, else on the database opened here, and on flash
// before it returns. T is what the change answers with.
func Change[T any](cfg *config.Config, opts Options, req control.Request) (*T, error) {
	c, ok := changes[req.Op]
	if !ok {
		return nil, fmt.Errorf("%q is not a change", req.Op)
	}
	return withAgent(cfg, opts, req, func(a *Agent) (*T, error) {
		r, err := c.apply(a, req)
		t, _ := r.(*T)
		return t, err
	})
}
