package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/netmon-agent/netmon-agent/agent"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/units"
)

// top is `netmon-agent top`: the host table, busiest first, redrawn in
// place every interval until q (or the context ends), like iftop for our
// hosts. in is read for the key presses; clear says out is a terminal.
func top(ctx context.Context, cfg *config.Config, in io.Reader, out io.Writer, interval time.Duration, clear bool) error {
	keys := make(chan byte, 8)
	go func() {
		buf := make([]byte, 1)
		for {
			if _, err := in.Read(buf); err != nil {
				close(keys)
				return
			}
			keys <- buf[0]
		}
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		r, err := agent.ReadHosts(cfg, time.Now())
		if err != nil {
			return err
		}
		var b strings.Builder
		if clear {
			b.WriteString("\x1b[H\x1b[2J") // home, clear screen
		}
		var down, up float64
		for _, h := range r.Hosts {
			down, up = down+h.DownloadRate, up+h.UploadRate
		}
		fmt.Fprintf(&b, "netmon-agent top: %d hosts, down %s, up %s  (%s; q quits)\n", len(r.Hosts), units.FormatRate(down), units.FormatRate(up), time.Now().Format("15:04:05"))
		if r.Source != "daemon" {
			b.WriteString("no daemon answers: totals from the database, no rates (start netmon-agent run)\n")
		}
		b.WriteString("\n")
		r.WriteText(&b)
		text := b.String()
		if clear {
			text = strings.ReplaceAll(text, "\n", "\r\n") // raw terminals do not return the carriage
		}
		if _, err := io.WriteString(out, text); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case k, ok := <-keys:
			if !ok || k == 'q' || k == 'Q' || k == 3 { // 3: Ctrl-C in raw mode
				return nil
			}
		case <-tick.C:
		}
	}
}
