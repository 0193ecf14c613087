package agent

import (
	"errors"
	"fmt"
	"maps"

	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/control"
)

// ErrNoRestriction means a restrict request carried no restriction.
var ErrNoRestriction = errors.New("the request names no restriction")

// Changes a person makes: blocks and throttles, their lifting, the
// since-last checkpoint, an import of nlbwmon's history. Each is one entry of changes, which the daemon's
// loop (package daemon) and a command with no daemon (MakeChange) both run: apply
// it to the Agent, then write it to flash at once, since a power cut must
// not undo a person's decision (counting data waits for persist_interval).
// Adding one is an entry here, a request kind in control, and its faces
// (the command, the web page's handler, LuCI's view and ACL).

// A Change is one kind of change a person makes.
type Change struct {
	// What names what is in force, for the error when flash refuses it.
	What string
	// Samples says applying it samples (a restriction applies at once),
	// which the daemon counts.
	Samples bool
	// Apply makes the change; what it returns answers the request.
	Apply func(a *Agent, req control.Request) (any, error)
}

// Changes returns the changes a person makes, by request kind: what the
// daemon's loop answers with them.
func Changes() map[string]Change { return maps.Clone(changes) }

var changes = map[string]Change{
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
	control.OpImport: {"the imported history", false, func(a *Agent, r control.Request) (any, error) {
		return a.Import(r.Paths)
	}},
}

// MakeChange makes the change req asks for (one of changes): through the
// daemon when one answers, else on the database opened here, and on flash
// before it returns. T is what the change answers with.
func MakeChange[T any](cfg *config.Config, opts Options, req control.Request) (*T, error) {
	c, ok := changes[req.Op]
	if !ok {
		return nil, fmt.Errorf("%q is not a change", req.Op)
	}
	return withAgent(cfg, opts, req, func(a *Agent) (*T, error) {
		r, err := c.Apply(a, req)
		t, _ := r.(*T)
		return t, err
	})
}
