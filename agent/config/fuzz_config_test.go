package config_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/netmon-agent/netmon-agent/agent/account/accounttest"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/uci"
)

func FuzzConfig(f *testing.F) {
	f.Add([]byte(accounttest.GoldenConfig))
	f.Add([]byte(accounttest.TwoMeters))
	f.Add([]byte("config mail\n\tlist to 'a@example.org'\n\toption from \"b@example.org\"\n\toption sendmail '/usr/sbin/sendmail'\n"))
	f.Add([]byte("config quota 'kids'\n\toption host '*'\n\toption limit '10G'\n# c\nconfig host\n\toption mac '02:00:00:00:01:02'\n\toption name x\n"))
	f.Add([]byte("config meter 'm'\n\toption chain 'FORWARD'\n\toption src '!2001:db8::/32'\n\toption proto 'tcp'\n\toption dport '80-90'\n"))
	for _, p := range []string{"etc/config/netmon", "usr/share/netmon-agent/netmon.example"} {
		data, err := os.ReadFile("../../openwrt/netmon-agent/files/" + p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		secs, err := uci.Parse("fuzz.conf", bytes.NewReader(data))
		oneLine(t, err)
		if err != nil {
			return
		}
		cfg, err := config.FromSections("fuzz.conf", secs)
		oneLine(t, err)
		if err != nil {
			return
		}
		for _, m := range cfg.Meters {
			if !netfilter.ValidName(m.Name) {
				t.Fatalf("meter name %q accepted", m.Name)
			}
			for _, f := range netfilter.Families {
				if m.CountsIn(f) {
					// Rules are built from it; they must not panic.
					_ = m.Match(f)
				}
			}
		}
	})
}

// oneLine asserts an error message is one line, as README promises.
func oneLine(t *testing.T, err error) {
	if err != nil && strings.ContainsAny(err.Error(), "\n\r") {
		t.Fatalf("error spans lines: %q", err)
	}
}
