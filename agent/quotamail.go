package agent

import (
	"fmt"
	"html"
	"os"
	"sync"

	"github.com/netmon-agent/netmon-agent/agent/account"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/mail"
	"github.com/netmon-agent/netmon-agent/agent/units"
)

// Quota warnings (warn_at) go out by mail from one goroutine, so a slow
// mail server never holds up a sample. The sampler has already recorded
// each threshold as warned: a failed send is logged, never repeated, and
// a restart does not warn twice.

// maxQueuedWarnings bounds the warnings waiting for the mail server.
const maxQueuedWarnings = 64

type warnMail struct {
	w    account.QuotaWarning
	mail *config.MailConfig // the config's at the time: a reload may change it
}

type warnMailer struct {
	once sync.Once
	q    chan warnMail
	done chan struct{}
}

// queueWarning hands w to the mail goroutine, starting it at the first
// warning; without a mail section it is only logged (the sampler did).
func (a *Agent) queueWarning(w account.QuotaWarning) {
	if a.cfg.Mail == nil {
		a.opts.Logf("quota warning for %s not mailed: no config mail section", w.MAC)
		return
	}
	m := &a.warnings
	m.once.Do(func() {
		m.q, m.done = make(chan warnMail, maxQueuedWarnings), make(chan struct{})
		go a.mailWarnings(m)
	})
	select {
	case m.q <- warnMail{w, a.cfg.Mail}:
	default:
		a.opts.Logf("quota warning for %s not mailed: %d warnings already wait for the mail server", w.MAC, maxQueuedWarnings)
	}
}

func (a *Agent) mailWarnings(m *warnMailer) {
	defer close(m.done)
	for wm := range m.q {
		subject, text := warningText(wm.w)
		msg, err := mail.Compose(wm.mail, subject, []byte(text), []byte("<pre>"+html.EscapeString(text)+"</pre>"), wm.w.Time)
		if err == nil {
			err = mail.Send(wm.mail, msg)
		}
		if err != nil {
			a.opts.Logf("quota warning for %s: %v", wm.w.MAC, err)
		}
	}
}

// stopWarnings waits until the queued warnings are sent (or failed). It
// runs on the goroutine that samples, as Close does; a warning after it is
// logged only (a nil queue takes nothing).
func (a *Agent) stopWarnings() {
	if m := &a.warnings; m.q != nil {
		close(m.q)
		<-m.done
		m.q = nil
	}
}

// warningText is a warning's subject and body.
func warningText(w account.QuotaWarning) (subject, text string) {
	who := w.MAC
	if w.Name != "" {
		who = w.Name + " (" + w.MAC + ")"
	}
	router, _ := os.Hostname()
	subject = fmt.Sprintf("%s reached %d%% of quota %s", who, w.Percent, w.Quota)
	text = fmt.Sprintf("%s on %s has used %s of its %s quota %s this %s (%d%% warning).\r\n",
		who, router, units.FormatBytes(w.Bytes), units.FormatBytes(w.Limit), w.Quota, w.Period, w.Percent)
	return subject, text
}
