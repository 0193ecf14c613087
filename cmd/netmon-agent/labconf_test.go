package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// labConf is scripts/lab.conf, the one description of the lab's config
// that the demo, the benchmarks (lab_config in scripts/lab-session.sh) and
// these tests write theirs from.
type labConf struct {
	agent  []string          // the agent section's option lines
	meters map[string]string // each meter section, header to last line
}

// readLabConf reads path, a lab.conf: comment lines, an agent section
// and meter sections, each ended by a blank line.
func readLabConf(path string) (*labConf, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c := &labConf{meters: map[string]string{}}
	var kind, name string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0 || strings.HasPrefix(line, "#"):
		case fields[0] == "config" && len(fields) >= 3:
			kind, name = fields[1], strings.Trim(fields[2], "'")
			if kind == "meter" {
				c.meters[name] = line + "\n"
			}
		case kind == "agent":
			c.agent = append(c.agent, line)
		case kind == "meter":
			c.meters[name] += line + "\n"
		default:
			return nil, fmt.Errorf("%s: %q is in no section", path, line)
		}
	}
	if len(c.agent) == 0 || len(c.meters) == 0 {
		return nil, fmt.Errorf("%s: no agent section or no meters", path)
	}
	return c, sc.Err()
}

// agentSection is the agent section as lab_config writes it: work for
// @WORK@, options ("option KEY 'VALUE'" lines) first, each in place of
// lab.conf's line of the same KEY.
func (c *labConf) agentSection(work string, options []string) string {
	var b strings.Builder
	b.WriteString("config agent 'main'\n")
	set := map[string]bool{}
	for _, o := range options {
		if f := strings.Fields(o); len(f) >= 2 {
			set[f[1]] = true
			b.WriteString("\t" + strings.TrimSpace(o) + "\n")
		}
	}
	for _, o := range c.agent {
		if f := strings.Fields(o); len(f) >= 2 && !set[f[1]] {
			b.WriteString(strings.ReplaceAll(o, "@WORK@", work) + "\n")
		}
	}
	return b.String()
}

// meterSections is the meters named, each after a blank line; it panics
// on a name lab.conf lacks, which is a mistake in a test.
func (c *labConf) meterSections(names ...string) string {
	var b strings.Builder
	for _, n := range names {
		m, ok := c.meters[n]
		if !ok {
			panic("scripts/lab.conf has no meter " + n)
		}
		b.WriteString("\n" + m)
	}
	return b.String()
}
