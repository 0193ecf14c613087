// Package control is the daemon's control protocol: requests to the loop
// that owns the state, from the unix socket (the CLI) or in-process (the web
// server), and their answers.
package control

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/report"
	"github.com/netmon-agent/netmon-agent/store"
	"golang.org/x/sys/unix"
)

// The daemon answers on a unix socket in runtime_dir, mode 0600, so only
// root asks it: one JSON request line, one JSON response line. This is how
// `report` shows figures current to the last sample without waiting on the
// database's lock, and how `sample` and `stop` reach a running daemon.

// Requests the daemon answers.
const (
	OpReport = "report" // the report, from memory
	OpStart  = "start"  // sample now (which heals our chains) and commit
	OpSample = "sample" // sample now, commit and snapshot, then report
	OpStop   = "stop"   // final sample and snapshot, remove our chains, exit
	OpHosts  = "hosts"  // the host table, from memory
	// OpServices is every host's usage by service, from memory.
	OpServices = "services"
	// OpRestrict puts Restriction in force, or lifts it.
	OpRestrict = "restrict"
	OpBlocks   = "blocks"  // the blocks and throttles in force
	OpHistory  = "history" // a table of history, as History asks
	// OpSinceLast samples and answers the since-last report; OpCheckpoint
	// then moves its checkpoint to Checkpoint (and snapshots).
	OpSinceLast  = "since-last"
	OpCheckpoint = "checkpoint"
	OpVerify     = "verify"  // verify the live database the daemon holds
	OpBackup     = "backup"  // commit, then write a snapshot to Path
	OpCompact    = "compact" // commit, compact the live database, snapshot
	OpRestore    = "restore" // replace the database with the backup at Path, under the running daemon
	OpMetrics    = "metrics" // totals, hosts, blocks and the daemon's own figures, for /metrics
	OpImport     = "import"  // file another tool's history (Paths) into ours
)

// A Request is one question to the daemon.
type Request struct {
	Op string `json:"op"`
	// Restriction is what OpRestrict puts in force or lifts.
	Restriction *Restriction `json:"restriction,omitempty"`
	// History is the question of OpHistory.
	History *report.HistoryQuery `json:"history,omitempty"`
	// Checkpoint is the new checkpoint of OpCheckpoint.
	Checkpoint *store.Checkpoint `json:"checkpoint,omitempty"`
	// Path is where OpBackup writes, or what OpRestore reads; absolute.
	Path string `json:"path,omitempty"`
	// Portable asks OpBackup for a portable backup rather than a snapshot.
	Portable bool `json:"portable,omitempty"`
	// Paths are what OpImport reads: nlbwmon's directories or files;
	// absolute.
	Paths []string `json:"paths,omitempty"`
}

// Kinds of Restriction.
const (
	KindBlock    = "block"    // the host forwards nothing
	KindThrottle = "throttle" // the host forwards at Rate down, RateUp up
)

// A Restriction is a block or a throttle of Host (Kind), or with Lift its
// lifting: one request, so blocks and throttles share one path from each
// face to the firewall.
type Restriction struct {
	Kind string `json:"kind"`
	Lift bool   `json:"lift,omitempty"`
	// Host is a MAC, an address or a name.
	Host   string        `json:"host"`
	For    time.Duration `json:"for,omitempty"` // 0: until lifted
	Reason string        `json:"reason,omitempty"`
	// Rate and RateUp are a throttle's rates, in bits per second.
	Rate   uint64 `json:"rate,omitempty"`
	RateUp uint64 `json:"rate_up,omitempty"`
}

// A Response is the daemon's answer. Body is the answer itself (a report,
// the host table, a database result...; nil for requests that only act):
// in the daemon's process the value, on the socket its JSON, which Ask
// decodes into the type its caller expects.
type Response struct {
	Body  any    `json:"body,omitempty"`
	Error string `json:"error,omitempty"`
	// NotFound says Error is about a host no one has seen.
	NotFound bool `json:"not_found,omitempty"`
	// Unavailable says the loop never answered: it was busy past the
	// wait, or is shutting down (Error says which).
	Unavailable bool `json:"unavailable,omitempty"`
}

// Errors callers check.
var (
	// ErrNoDaemon means no daemon answers on the socket.
	ErrNoDaemon = errors.New("no daemon is running")
	// ErrNotFound means the daemon knows no host by the name asked for.
	ErrNotFound = errors.New("not found")
	// ErrBusy means the daemon's loop did not take the request in time.
	ErrBusy = errors.New("the daemon is busy; try again")
	// ErrShuttingDown means the daemon is exiting.
	ErrShuttingDown = errors.New("the daemon is shutting down")
)

// Failed turns err into the Response that carries it; notFound marks
// errors about an unknown host.
func Failed(err error, notFound bool) Response {
	return Response{Error: err.Error(), NotFound: notFound}
}

// unavailable is the Response of a request the loop did not take or
// answer.
func unavailable(err error) Response { return Response{Error: err.Error(), Unavailable: true} }

// Err returns the error a Response carries, nil if none: ErrNotFound
// wrapped when the daemon said so.
func (r Response) Err() error {
	switch {
	case r.Error == "":
		return nil
	case r.Unavailable && r.Error == ErrShuttingDown.Error():
		return ErrShuttingDown
	case r.Unavailable:
		return ErrBusy
	case r.NotFound:
		return fmt.Errorf("%w: %s", ErrNotFound, r.Error)
	}
	return errors.New(r.Error)
}

// Ask sends req to the daemon listening on socket and decodes the body of
// its answer into a T (use struct{} for requests that only act).
func Ask[T any](socket string, req Request, timeout time.Duration) (*T, error) {
	conn, err := net.DialTimeout("unix", socket, timeout)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, ErrNoDaemon
		}
		return nil, fmt.Errorf("ask daemon at %s: %w", socket, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return nil, fmt.Errorf("ask daemon at %s: %w", socket, err)
	}
	var resp struct {
		Body        *T     `json:"body"`
		Error       string `json:"error"`
		NotFound    bool   `json:"not_found"`
		Unavailable bool   `json:"unavailable"`
	}
	if err := json.NewDecoder(bufio.NewReader(conn)).Decode(&resp); err != nil {
		return nil, fmt.Errorf("read daemon's answer from %s: %w", socket, err)
	}
	if err := (Response{Error: resp.Error, NotFound: resp.NotFound, Unavailable: resp.Unavailable}).Err(); err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	if resp.Body == nil {
		resp.Body = new(T)
	}
	return resp.Body, nil
}

// A Call is one request handed to the daemon's loop, which owns the state,
// and where its answer goes.
type Call struct {
	Request
	Reply chan Response
}

// Send hands req to the daemon's loop through calls and waits for the
// answer: at most wait for each of the hand-over and the answer, and never
// past done (closed when the daemon exits). The socket and the web server
// both ask the loop this way.
func Send(calls chan<- Call, done <-chan struct{}, req Request, wait time.Duration) Response {
	c := Call{Request: req, Reply: make(chan Response, 1)}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case calls <- c:
	case <-done:
		return unavailable(ErrShuttingDown)
	case <-timer.C:
		return unavailable(ErrBusy)
	}
	select {
	case resp := <-c.Reply:
		return resp
	case <-done:
		return unavailable(ErrShuttingDown)
	case <-timer.C:
		return unavailable(ErrBusy)
	}
}

// known reports whether op is a request the daemon answers.
func known(op string) bool {
	switch op {
	case OpReport, OpStart, OpSample, OpStop, OpHosts, OpServices, OpRestrict, OpBlocks, OpHistory,
		OpSinceLast, OpCheckpoint, OpVerify, OpBackup, OpCompact, OpRestore, OpMetrics, OpImport:
		return true
	}
	return false
}

// Listen takes over socket, refusing if a daemon already answers there.
func Listen(socket string) (*net.UnixListener, error) {
	if _, err := Ask[struct{}](socket, Request{Op: OpBlocks}, time.Second); err == nil {
		return nil, fmt.Errorf("another daemon answers on %s", socket)
	}
	os.Remove(socket) // a daemon that was killed leaves its socket behind
	old := syscall.Umask(0o077)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: socket, Net: "unix"})
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", socket, err)
	}
	if err := os.Chmod(socket, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen on %s: %w", socket, err)
	}
	return ln, nil
}

// Serve hands each request to calls; a slow client only ever holds its own
// connection, for at most the deadline.
func Serve(ln *net.UnixListener, calls chan<- Call, done <-chan struct{}) {
	for {
		conn, err := ln.AcceptUnix()
		if err != nil {
			return
		}
		go serveConn(conn, calls, done)
	}
}

// connDeadline bounds one socket client; long requests (a backup, a
// compaction) fit in it.
const connDeadline = 30 * time.Second

func serveConn(conn *net.UnixConn, calls chan<- Call, done <-chan struct{}) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(connDeadline))
	enc := json.NewEncoder(conn)
	var req Request
	if err := json.NewDecoder(io.LimitReader(conn, 64*1024)).Decode(&req); err != nil {
		enc.Encode(Response{Error: "malformed request: " + err.Error()})
		return
	}
	// Read before refusing, so the client sees why rather than a broken
	// pipe.
	if err := peerIsRoot(conn); err != nil {
		enc.Encode(Response{Error: err.Error()})
		return
	}
	if !known(req.Op) {
		enc.Encode(Response{Error: fmt.Sprintf("unknown request %q", req.Op)})
		return
	}
	enc.Encode(Send(calls, done, req, connDeadline))
}

// peerIsRoot refuses a client that is neither root nor the daemon's own
// user. The socket's mode already keeps others out; this holds even when
// someone loosened it (or runtime_dir's).
func peerIsRoot(c *net.UnixConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var cred *unix.Ucred
	cerr := raw.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if cerr != nil {
		return cerr
	}
	if err != nil {
		return fmt.Errorf("read the client's credentials: %w", err)
	}
	if cred.Uid != 0 && int(cred.Uid) != os.Geteuid() {
		return fmt.Errorf("permission denied: uid %d is not root", cred.Uid)
	}
	return nil
}
