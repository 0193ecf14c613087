package agent

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

	"golang.org/x/sys/unix"

	"github.com/netmon-agent/netmon-agent/store"
)

// The daemon answers on a unix socket in runtime_dir, mode 0600, so only
// root asks it: one JSON request line, one JSON response line. This is how
// `report` shows figures current to the last sample without waiting on the
// database's lock, and how `sample` and `stop` reach a running daemon.

// Requests the daemon answers.
const (
	OpReport  = "report"  // the report, from memory
	OpStart   = "start"   // sample now (which heals our chains) and commit
	OpSample  = "sample"  // sample now, commit and snapshot, then report
	OpStop    = "stop"    // final sample and snapshot, remove our chains, exit
	OpHosts   = "hosts"   // the host table, from memory
	OpBlock   = "block"   // block Host for For, with Reason
	OpUnblock = "unblock" // lift the block of Host
	OpBlocks  = "blocks"  // the blocks in force
	OpHistory = "history" // a table of history, as History asks
	// OpSinceLast samples and answers the since-last report; OpCheckpoint
	// then moves its checkpoint to Checkpoint (and snapshots).
	OpSinceLast  = "since-last"
	OpCheckpoint = "checkpoint"
	OpVerify     = "verify"  // verify the live database the daemon holds
	OpBackup     = "backup"  // commit, then write a snapshot to Path
	OpCompact    = "compact" // commit, compact the live database, snapshot
	OpMetrics    = "metrics" // totals, hosts, blocks and the daemon's own figures, for /metrics
)

// A Request is one question to the daemon.
type Request struct {
	Op     string        `json:"op"`
	Host   string        `json:"host,omitempty"`
	For    time.Duration `json:"for,omitempty"`
	Reason string        `json:"reason,omitempty"`
	// History is the question of OpHistory.
	History *HistoryQuery `json:"history,omitempty"`
	// Checkpoint is the new checkpoint of OpCheckpoint.
	Checkpoint *store.Checkpoint `json:"checkpoint,omitempty"`
	// Path is where OpBackup writes, absolute.
	Path string `json:"path,omitempty"`
}

// A Response is the daemon's answer.
type Response struct {
	Report    *Report          `json:"report,omitempty"`
	Hosts     *HostsReport     `json:"hosts,omitempty"`
	Blocks    *BlocksReport    `json:"blocks,omitempty"`
	History   *HistoryReport   `json:"history,omitempty"`
	SinceLast *SinceLastReport `json:"since_last,omitempty"`
	DB        *DBResult        `json:"db,omitempty"`
	Daemon    *DaemonStats     `json:"daemon,omitempty"`
	Error     string           `json:"error,omitempty"`
	// NotFound says Error is about a host no one has seen.
	NotFound bool `json:"not_found,omitempty"`
}

// DaemonStats are the daemon's own figures.
type DaemonStats struct {
	Started time.Time `json:"started"`
	Samples int       `json:"samples"`
	// SampleSeconds is how long the last sample took.
	SampleSeconds float64 `json:"sample_seconds"`
	// Resets counts the reset events this daemon accounted, by cause.
	Resets map[string]uint64 `json:"resets"`
}

// ErrNoDaemon means no daemon answers on the socket.
var ErrNoDaemon = errors.New("no daemon is running")

// Ask sends op to the daemon listening on socket.
func Ask(socket, op string, timeout time.Duration) (*Response, error) {
	return AskRequest(socket, Request{Op: op}, timeout)
}

// AskRequest sends req to the daemon listening on socket.
func AskRequest(socket string, req Request, timeout time.Duration) (*Response, error) {
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
	var resp Response
	if err := json.NewDecoder(bufio.NewReader(conn)).Decode(&resp); err != nil {
		return nil, fmt.Errorf("read daemon's answer from %s: %w", socket, err)
	}
	if resp.Error != "" {
		return &resp, fmt.Errorf("daemon: %s", resp.Error)
	}
	return &resp, nil
}

// A call is one request handed to the daemon's loop, which owns the state.
type call struct {
	Request
	reply chan Response
}

// listen takes over socket, refusing if a daemon already answers there.
func listen(socket string) (*net.UnixListener, error) {
	if _, err := Ask(socket, OpReport, time.Second); err == nil {
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

// serve hands each request to calls; a slow client only ever holds its own
// connection, for at most the deadline.
func serve(ln *net.UnixListener, calls chan<- call, done <-chan struct{}) {
	for {
		conn, err := ln.AcceptUnix()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			var req Request
			if err := json.NewDecoder(io.LimitReader(conn, 64*1024)).Decode(&req); err != nil {
				json.NewEncoder(conn).Encode(Response{Error: "malformed request: " + err.Error()})
				return
			}
			// Read before refusing, so the client sees why rather than a
			// broken pipe.
			if err := peerIsRoot(conn); err != nil {
				json.NewEncoder(conn).Encode(Response{Error: err.Error()})
				return
			}
			switch req.Op {
			case OpReport, OpStart, OpSample, OpStop, OpHosts, OpBlock, OpUnblock, OpBlocks, OpHistory, OpSinceLast, OpCheckpoint, OpVerify, OpBackup, OpCompact, OpMetrics:
			default:
				json.NewEncoder(conn).Encode(Response{Error: fmt.Sprintf("unknown request %q", req.Op)})
				return
			}
			c := call{Request: req, reply: make(chan Response, 1)}
			select {
			case calls <- c:
			case <-done:
				json.NewEncoder(conn).Encode(Response{Error: "daemon is shutting down"})
				return
			}
			select {
			case resp := <-c.reply:
				json.NewEncoder(conn).Encode(resp)
			case <-done:
				json.NewEncoder(conn).Encode(Response{Error: "daemon is shutting down"})
			}
		}()
	}
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
