package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/netmon-agent/netmon-agent/agent"
	"github.com/netmon-agent/netmon-agent/agent/config"
)

// db check, backup, restore and compact.

func cmdDBCheck(c *cli.Context, cfg *config.Config) error {
	checks := agent.CheckDatabases(cfg, c.Args().Slice())
	if len(checks) == 0 {
		return fmt.Errorf("no database yet at %s or %s", cfg.LiveDatabase(), cfg.Database)
	}
	bad := 0
	for _, ck := range checks {
		if ck.Error == "" {
			fmt.Fprintf(c.App.Writer, "ok       %s\n", ck.Path)
			continue
		}
		bad++
		fmt.Fprintf(c.App.Writer, "damaged  %s\n", ck.Error)
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d database files damaged; the daemon sets a damaged file aside at its next start", bad, len(checks))
	}
	return nil
}

// fileArg is the one FILE of db backup and db restore.
func fileArg(c *cli.Context) (string, error) {
	if c.NArg() != 1 {
		return "", fmt.Errorf("db %s takes one FILE", c.Command.Name)
	}
	return c.Args().First(), nil
}

func cmdDBBackup(c *cli.Context, cfg *config.Config) error {
	dest, err := fileArg(c)
	if err != nil {
		return err
	}
	if dest == "-" {
		return backupToStdout(c, cfg)
	}
	r, err := agent.BackupDatabase(cfg, dest, c.Bool("portable"))
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "backup written to %s (%d bytes)\n", r.Path, r.Bytes)
	return nil
}

func cmdDBRestore(c *cli.Context, cfg *config.Config) error {
	src, err := fileArg(c)
	if err != nil {
		return err
	}
	r, err := agent.RestoreDatabase(cfg, options(stderrLogger(c, false)), src)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "restored %s from %s; snapshot written to %s (%d bytes)\n", r.Path, src, cfg.Database, r.Snapshot)
	if r.OtherBoot {
		fmt.Fprintln(c.App.Writer, "the backup was counting in another boot (another router, or before a reboot): the kernel's counters start afresh here, and counting goes on from the restored totals")
	}
	for _, k := range r.Kept {
		fmt.Fprintf(c.App.Writer, "kept the replaced file as %s\n", k)
	}
	if c.Bool("remove") {
		if err := os.Remove(src); err != nil {
			return fmt.Errorf("restored, but %w", err)
		}
	}
	return nil
}

func cmdDBCompact(c *cli.Context, cfg *config.Config) error {
	r, err := agent.CompactDatabase(cfg, options(stderrLogger(c, false)))
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "compacted %s from %d to %d bytes; snapshot written to %s (%d bytes)\n", r.Path, r.Before, r.Bytes, cfg.Database, r.Snapshot)
	return nil
}

// backupToStdout is db backup -: the backup's bytes on standard output,
// unless that is a terminal (gzip'ed bbolt is no use on a screen).
func backupToStdout(c *cli.Context, cfg *config.Config) error {
	if f, ok := c.App.Writer.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return errors.New("db backup -: standard output is a terminal; redirect it to a file, or give a FILE")
		}
	}
	_, err := agent.WriteBackup(cfg, c.App.Writer, c.Bool("portable"))
	return err
}
