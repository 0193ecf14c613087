package config_test

import (
	"strings"
	"testing"

	"github.com/netmon-agent/netmon-agent/agent/config"
)

// Sections from arguments are checked by the readers that check the file,
// and their errors name the section and option, not a line.
func TestSectionsFromArgs(t *testing.T) {
	check := func(args ...string) error {
		secs, err := config.SectionsFromArgs(args)
		if err != nil {
			return err
		}
		_, err = config.FromSections(config.ArgsPath, secs)
		return err
	}
	if err := check("@agent=main", "interval=30", "hosts=1", "@meter=wan-in", "chain=FORWARD", "in=wan",
		"@quota=kids", "host=*", "limit=5G", "action=throttle", "rate=2mbit", "warn_at+=80", "warn_at+=100",
		"@mail", "to+=a@example.org", "from=r@example.org", "sendmail=/bin/sh", "@host=laptop", "mac=02:00:00:00:01:02", "name=laptop"); err != nil {
		t.Errorf("a good config: %v", err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"@meter=m", "chain=FORWARD", "src=nonsense"}, `settings: meter m: malformed address "nonsense"`},
		{[]string{"@agent=main", "interval=0"}, `settings: option interval: "0" must be a positive number`},
		{[]string{"@quota=q", "host=*", "limit+=1G"}, "settings: quota q: option limit takes one value, not a list"},
		{[]string{"@meter=m", "chain=FORWARD", "src=a=b"}, `malformed address "a=b"`},
		{[]string{"chain=FORWARD"}, "an option before any @TYPE section"},
		{[]string{"@meter=m", "chain"}, "an option is NAME=VALUE"},
		{[]string{"@me ter=m"}, "a section is @TYPE or @TYPE=NAME"},
		{[]string{"@meter="}, "a section is @TYPE or @TYPE=NAME"},
		{[]string{"@firewall=x"}, `unknown section type "firewall"`},
		{[]string{"@service=games", "port+=tcp/99999"}, `settings: service games: port "tcp/99999" is not tcp/N or udp/N (1-65535)`},
		{[]string{"@service=other", "port+=tcp/1"}, `a service section needs a name`},
		{[]string{"@service=games"}, `service games needs list port`},
		{[]string{"@service=games", "port+=udp/27015", "@service=games", "port+=udp/1"}, `a second service games`},
	} {
		if err := check(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.args, err, c.want)
		}
	}
}
