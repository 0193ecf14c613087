//go:build !nosmtp

package agent_test

import (
	"strings"
	"testing"

	"github.com/netmon-agent/netmon-agent/agent"
	"github.com/netmon-agent/netmon-agent/agent/account/accounttest"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/netfilter/netfiltertest"
	"github.com/netmon-agent/netmon-agent/store"
)

// Crossing warn_at thresholds sends one message per threshold to the real
// SMTP test server: two crossed in one sample are two messages, a
// threshold already warned is not sent again, also after the agent is
// closed and opened again on the same database; hosts shows them.
func TestQuotaWarning_OneMailPerThreshold(t *testing.T) {
	b := &smtpBackend{}
	port, _ := startSMTP(t, b, false, false)
	dir := t.TempDir()
	const mac = "02:00:00:00:00:0a"
	cfg, err := config.Load(accounttest.WriteConfig(t, `config agent
	option database '`+dir+`/flash/netmon.db'
	option runtime_dir '`+dir+`/run'

config quota 'kid'
	option host '`+mac+`'
	option limit '10K'
	option action 'warn'
	list warn_at '50'
	list warn_at '80'
	list warn_at '100'

`+plainMailSection(port)))
	if err != nil {
		t.Fatal(err)
	}
	sets := netfiltertest.NewSets()
	open := func() *agent.Agent { return openWithHost(t, cfg, dir, sets, mac) }
	subjects := func() []string {
		var out []string
		for _, m := range b.received() {
			for _, line := range strings.Split(string(m.data), "\r\n") {
				if s, ok := strings.CutPrefix(line, "Subject: "); ok {
					out = append(out, s)
				}
			}
		}
		return out
	}

	a := open()
	a.Sample()
	sets.Traffic(store.DirDownload, "192.0.2.2", 1, 4<<10)
	a.Sample() // 40%: nothing
	sets.Traffic(store.DirDownload, "192.0.2.2", 1, 5<<10)
	a.Sample() // 90%: 50 and 80 in one sample
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	if h := hostOf(a, mac); h == nil || len(h.QuotaWarned) != 2 || h.QuotaWarned[0] != 50 || h.QuotaWarned[1] != 80 {
		t.Errorf("hosts shows warned %v", h)
	}
	a.Close() // waits for the mail
	a = open()
	a.Sample()
	sets.Traffic(store.DirUpload, "192.0.2.2", 1, 512)
	a.Sample() // 95%: nothing new, also after the reopen
	sets.Traffic(store.DirUpload, "192.0.2.2", 1, 512)
	a.Sample() // 100%
	a.Close()

	want := []string{
		mac + " reached 50% of quota kid",
		mac + " reached 80% of quota kid",
		mac + " reached 100% of quota kid",
	}
	if got := subjects(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("messages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := b.received(); len(got) == 3 && !strings.Contains(string(got[2].data), "has used 10.00 KiB of its 10.00 KiB quota kid") {
		t.Errorf("the last message says:\n%s", got[2].data)
	}
}
