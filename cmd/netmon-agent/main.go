// Command netmon-agent meters network traffic with netfilter's own counters.
// This package only wires the command line to the packages under agent/:
// app.go names every command and flag, the cmd_*.go files turn parsed
// arguments into calls.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/units"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// OpenWrt keeps its zone in /etc/TZ, which Go does not read.
	if loc, changed, err := units.LocalZone(units.OpenWrtTZ, "/etc/localtime"); err != nil {
		fmt.Fprintf(os.Stderr, "netmon-agent: %v; days are cut in %s\n", err, time.Local)
	} else if changed {
		time.Local = loc
	}
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}
