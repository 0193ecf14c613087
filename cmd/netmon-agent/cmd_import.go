package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/netmon-agent/netmon-agent/agent"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/nlbwmon"
	"github.com/netmon-agent/netmon-agent/agent/units"
)

// import nlbwmon.

// nlbwmonConfig is nlbwmon's config file, where its database directory is
// set; NETMON_NLBWMON_CONFIG stands in for it in the lab.
func nlbwmonConfig() string {
	if p := os.Getenv("NETMON_NLBWMON_CONFIG"); p != "" {
		return p
	}
	return "/etc/config/nlbwmon"
}

// importPaths are the DIR|FILE arguments, or nlbwmon's configured
// directory.
func importPaths(c *cli.Context) []string {
	if c.NArg() > 0 {
		return c.Args().Slice()
	}
	return []string{nlbwmon.ConfiguredDir(nlbwmonConfig())}
}

func cmdImportNlbwmon(c *cli.Context, cfg *config.Config) error {
	paths := importPaths(c)
	if c.Bool("list") {
		return listNlbwmon(c, paths)
	}
	r, err := agent.ImportNlbwmon(cfg, options(stderrLogger(c, false)), paths)
	if err != nil {
		return err
	}
	return output(c, r, func() error {
		for _, p := range r.Periods {
			fmt.Fprintf(c.App.Writer, "%s to %s  %-32s %s\n", p.Start.Format(time.DateOnly), p.End.Format(time.DateOnly), p.Status, p.File)
			if p.Hosts > 0 {
				fmt.Fprintf(c.App.Writer, "    %d hosts, %s down, %s up\n", p.Hosts, units.FormatBytes(p.DownloadBytes), units.FormatBytes(p.UploadBytes))
			}
		}
		return nil
	})
}

// A foundPeriod is one period --list found.
type foundPeriod struct {
	File          string `json:"file"`
	Start         string `json:"start"`
	End           string `json:"end"`
	Interval      string `json:"interval"`
	Records       int    `json:"records"`
	DownloadBytes uint64 `json:"download_bytes"`
	UploadBytes   uint64 `json:"upload_bytes"`
}

// listNlbwmon reads and checks the periods at paths, filing nothing.
func listNlbwmon(c *cli.Context, paths []string) error {
	found := []*foundPeriod{}
	err := nlbwmon.Each(paths, func(p *nlbwmon.Period) error {
		f := &foundPeriod{File: p.Path, Start: p.Start.String(), End: p.Interval.End(p.Start).String(), Interval: p.Interval.String(), Records: len(p.Records)}
		for _, r := range p.Records {
			f.DownloadBytes += r.Download.Bytes
			f.UploadBytes += r.Upload.Bytes
		}
		found = append(found, f)
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(found, func(a, b *foundPeriod) int { return strings.Compare(a.Start, b.Start) })
	return output(c, found, func() error {
		for _, f := range found {
			fmt.Fprintf(c.App.Writer, "%s to %s  %d records, %s down, %s up  %s\n", f.Start, f.End, f.Records, units.FormatBytes(f.DownloadBytes), units.FormatBytes(f.UploadBytes), f.File)
		}
		return nil
	})
}
