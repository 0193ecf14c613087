package netfilter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/netlink"
	"golang.org/x/sys/unix"
)

// An nftTool changes our nftables tables with the nft binary (changes are
// rare: an install, a heal, a new host) and reads them over netlink, with
// no process per sample. Where the kernel or a sandbox refuses netlink it
// reads with `nft -a list table` instead, and says so once.
type nftTool struct {
	run func(stdin string, args ...string) ([]byte, error)

	mu       sync.Mutex
	fallback error // why reads go through the nft binary, once decided
	Logf     func(format string, a ...any)
	// nl is the netlink reader, made at the first read and kept, with
	// its socket (netlink.Socket) and what it learnt of the sets' sizes.
	nl *nftReader
}

func newNftTool() (*nftTool, error) {
	p, err := exec.LookPath("nft")
	if err != nil {
		return nil, fmt.Errorf("%w: install nftables", ErrNoNft)
	}
	return &nftTool{run: func(stdin string, args ...string) ([]byte, error) { return runNft(p, stdin, args...) }}, nil
}

func runNft(path, stdin string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.Join(strings.Fields(stderr.String()), " ")
		return nil, fmt.Errorf("nft %s: %v: %s", strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}

// read returns our table of family f, nil when there is none, or a
// ForeignTableError when the table of our name is not ours; the sets'
// elements only with elements (the text fallback always has them). Reads
// share one netlink socket, closed when the nftTool is dropped.
func (t *nftTool) read(f Family, elements bool) (*nftDump, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d, err := t.readLocked(f, elements)
	if err != nil || d == nil {
		return d, err
	}
	if err := d.owner(f); err != nil {
		return nil, err
	}
	return d, nil
}

func (t *nftTool) readLocked(f Family, elements bool) (*nftDump, error) {
	if t.fallback == nil {
		d, err := t.readNetlink(f, elements)
		if err == nil || !errors.Is(err, netlink.ErrRefused) {
			return d, err
		}
		t.refused(err)
	}
	return t.readText(f)
}

// guard refuses a change to family f's table when it is someone else's.
// Other failures to read are left to the change itself.
func (t *nftTool) guard(f Family) error {
	if _, err := t.read(f, false); errors.Is(err, ErrForeignTable) {
		return err
	}
	return nil
}

func (t *nftTool) readNetlink(f Family, elements bool) (*nftDump, error) {
	return t.reader().Read(f, elements)
}

// reader is the tool's netlink reader, made on first use; its socket is
// closed when the tool is dropped (a reload replaces it). Called with t.mu
// held.
func (t *nftTool) reader() *nftReader {
	if t.nl == nil {
		sock := &netlink.Socket{Proto: unix.NETLINK_NETFILTER}
		t.nl = &nftReader{ask: sock.Dump}
		runtime.AddCleanup(t, func(s *netlink.Socket) { s.Close() }, sock)
	}
	return t.nl
}

// refused records, and says once, that reads go through the nft binary.
func (t *nftTool) refused(err error) {
	t.fallback = err
	if t.Logf != nil {
		t.Logf("reading nftables with the nft binary, one process per family and sample: %v", err)
	}
}

// readsByText reports whether reads go through the nft binary.
func (t *nftTool) readsByText() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.fallback != nil
}

// A Reader says how it reads our tables (a Firewall or Sets of native
// nftables): doctor reports it.
type Reader interface {
	ReadsBy() string
}

// ReadsBy says how our tables are read: "netlink", or the nft binary and
// why (doctor reports it).
func (t *nftTool) ReadsBy() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fallback != nil {
		return "nft binary (netlink refused: " + t.fallback.Error() + ")"
	}
	return "netlink"
}

func (t *nftTool) readText(f Family) (*nftDump, error) {
	out, err := t.run("", "-a", "list", "table", nftFamily(f), nftTable)
	if err != nil {
		if strings.Contains(err.Error(), errNoTable) {
			return nil, nil
		}
		return nil, err
	}
	return parseNftList(out)
}
