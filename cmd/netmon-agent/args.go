package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// flagsFirst moves the options a command's user wrote after its arguments
// (`block HOST --for 2h`) in front of them, where urfave/cli v2 reads
// options: its parser, like Go's flag package, stops at the first argument.
// What an option is and whether it takes a value come from the command's
// own flag definitions; everything after "--" stays an argument.
func flagsFirst(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	rest := args[1:]
	// Global options, then the command path (db backup).
	var cmd *cli.Command
	cmds, flags := app.Commands, app.Flags
	for len(rest) > 0 {
		a := rest[0]
		if strings.HasPrefix(a, "-") {
			n := 1
			if takesValue(flags, a) && len(rest) > 1 {
				n = 2
			}
			out, rest = append(out, rest[:n]...), rest[n:]
			continue
		}
		next := find(cmds, a)
		if next == nil {
			break
		}
		cmd, cmds, flags = next, next.Subcommands, next.Flags
		out, rest = append(out, a), rest[1:]
	}
	if cmd == nil || len(cmd.Subcommands) > 0 {
		return append(out, rest...)
	}
	var opts, positional []string
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--":
			positional = append(positional, rest[i:]...)
			i = len(rest)
		case strings.HasPrefix(a, "-") && a != "-" && known(cmd.Flags, a):
			opts = append(opts, a)
			if takesValue(cmd.Flags, a) && i+1 < len(rest) {
				i++
				opts = append(opts, rest[i])
			}
		default:
			positional = append(positional, a)
		}
	}
	return append(append(out, opts...), positional...)
}

func find(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// flagOf is the flag that -NAME, --NAME or --NAME=VALUE names.
func flagOf(flags []cli.Flag, arg string) (cli.Flag, bool) {
	name, _, inline := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f, inline
			}
		}
	}
	return nil, false
}

func known(flags []cli.Flag, arg string) bool {
	f, _ := flagOf(flags, arg)
	return f != nil
}

// takesValue reports whether arg is an option whose value is the next
// argument: not a boolean, and not written --NAME=VALUE.
func takesValue(flags []cli.Flag, arg string) bool {
	f, inline := flagOf(flags, arg)
	if f == nil || inline {
		return false
	}
	if _, isBool := f.(*cli.BoolFlag); isBool {
		return false
	}
	return true
}
