//go:build !noiptables

package netfilter

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/coreos/go-iptables/iptables"
)

// sameBackend refuses an iptables and an iptables-save whose --version
// name different backends.
func sameBackend(ipt, save string) error {
	iv, err := versionOf(ipt)
	if err != nil {
		return nil // go-iptables says what is wrong with it
	}
	sv, err := versionOf(save)
	if err != nil {
		return fmt.Errorf("%s --version: %w", save, err)
	}
	if a, b := Variant(iv), Variant(sv); a != "" && b != "" && a != b {
		return fmt.Errorf("%w: %s is %q but %s is %q: point both at one backend (update-alternatives), or set option backend 'legacy' or 'nft'",
			ErrMixedBackends, ipt, iv, save, sv)
	}
	return nil
}

// lockWait bounds how long an iptables call waits for the xtables lock;
// go-iptables would otherwise wait forever and stall sampling.
const lockWait = 5

// iptablesFirewall runs the iptables binaries: go-iptables for changes,
// iptables-save for reading, parsed by parseSave.
type iptablesFirewall struct {
	fam  Family
	ipt  *iptables.IPTables
	save string
}

// NewIptables returns the Firewall of family f for backend (auto, nft or
// legacy). It runs `iptables --version` once.
func NewIptables(backend string, f Family) (Firewall, error) {
	bin, save := Binaries(backend, f)
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("%s (backend %s): %w: install iptables", bin, backend, ErrNoIptables)
	}
	savePath, err := exec.LookPath(save)
	if err != nil {
		return nil, fmt.Errorf("%s (backend %s): %w: install iptables", save, backend, ErrNoIptables)
	}
	if backend == "auto" {
		// The plain names are alternatives that can point at different
		// backends: our rules would go where samples never read them.
		if err := sameBackend(path, savePath); err != nil {
			return nil, err
		}
	}
	proto := iptables.ProtocolIPv4
	if f == IPv6 {
		proto = iptables.ProtocolIPv6
	}
	ipt, err := iptables.New(iptables.IPFamily(proto), iptables.Path(path), iptables.Timeout(lockWait))
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	return &iptablesFirewall{fam: f, ipt: ipt, save: savePath}, nil
}

func (fw *iptablesFirewall) Family() Family { return fw.fam }

func (fw *iptablesFirewall) Rules() (*Ruleset, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, fw.save, "-c", "-t", "filter")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("run %s: %v: %s", fw.save, err, strings.TrimSpace(stderr.String()))
	}
	rs, err := ParseSave(stdout.Bytes(), false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fw.save, err)
	}
	return rs, nil
}

const table = "filter"

func (fw *iptablesFirewall) NewChain(chain string) error { return fw.ipt.NewChain(table, chain) }

func (fw *iptablesFirewall) ClearChain(chain string) error {
	return fw.ipt.ClearChain(table, chain)
}

func (fw *iptablesFirewall) DeleteChain(chain string) error { return fw.ipt.DeleteChain(table, chain) }

func (fw *iptablesFirewall) Insert(chain string, pos int, spec ...string) error {
	return fw.ipt.Insert(table, chain, pos, spec...)
}

func (fw *iptablesFirewall) Append(chain string, spec ...string) error {
	return fw.ipt.Append(table, chain, spec...)
}

func (fw *iptablesFirewall) Delete(chain string, spec ...string) error {
	return fw.ipt.Delete(table, chain, spec...)
}
