package netfilter

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTool writes an executable that prints version for --version.
func fakeTool(t *testing.T, dir, name, version string) {
	t.Helper()
	script := "#!/bin/sh\nif [ \"$1\" = --version ]; then echo '" + version + "'; exit 0; fi\nexit 0\n"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// iptables and iptables-save pointing at different backends once made
// every sample fail with "Chain already exists" and doctor blame missing
// rules; now the firewall refuses to start and says why.
func TestNewIptables_MixedBackends(t *testing.T) {
	dir := t.TempDir()
	fakeTool(t, dir, "iptables", "iptables v1.8.9 (legacy)")
	fakeTool(t, dir, "iptables-save", "iptables-save v1.8.9 (nf_tables)")
	t.Setenv("PATH", dir)
	_, err := NewIptables("auto", IPv4)
	if !errors.Is(err, ErrMixedBackends) || !strings.Contains(err.Error(), `"iptables v1.8.9 (legacy)"`) ||
		!strings.Contains(err.Error(), `"iptables-save v1.8.9 (nf_tables)"`) {
		t.Errorf("NewIptables: %v", err)
	}
	fakeTool(t, dir, "iptables-save", "iptables-save v1.8.9 (legacy)")
	if _, err := NewIptables("auto", IPv4); err != nil {
		t.Errorf("NewIptables with both legacy: %v", err)
	}
}

func TestVariant(t *testing.T) {
	for in, want := range map[string]string{"iptables v1.8.9 (nf_tables)": "nf_tables", "iptables v1.8.7 (legacy)": "legacy", "iptables v1.6.1": ""} {
		if got := Variant(in); got != want {
			t.Errorf("Variant(%q) = %q, want %q", in, got, want)
		}
	}
}
