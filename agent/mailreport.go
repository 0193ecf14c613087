package agent

import (
	"bytes"
	"errors"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/mail"
	"github.com/netmon-agent/netmon-agent/agent/report"
)

// ErrNoMail means `netmon-agent mail` was run without a mail section.
var ErrNoMail = errors.New("no mail section in the config (config mail: list to, option from, option server or option sendmail)")

// BuildMailReport reads the since-last report and the page, and composes
// the message: the since-last and summary texts, and the HTML page.
func BuildMailReport(cfg *config.Config, router string, now time.Time) ([]byte, *report.SinceLastReport, error) {
	if cfg.Mail == nil {
		return nil, nil, ErrNoMail
	}
	sl, err := ReadSinceLast(cfg, now)
	if err != nil {
		return nil, nil, err
	}
	subject := mail.Subject(now)
	page, err := ReadHTMLReport(cfg, subject, router, sl, now)
	if err != nil {
		return nil, nil, err
	}
	var text, html bytes.Buffer
	if err := sl.WriteText(&text, time.Local); err != nil {
		return nil, nil, err
	}
	text.WriteString("\n")
	if err := page.Summary.WriteText(&text, time.Local); err != nil {
		return nil, nil, err
	}
	if err := page.WriteHTML(&html); err != nil {
		return nil, nil, err
	}
	msg, err := mail.Compose(cfg.Mail, subject, text.Bytes(), html.Bytes(), now)
	return msg, sl, err
}

// MailReport sends the since-last report to the mail section's recipients
// and, once the message is accepted, moves the checkpoint to its end. A
// failed send leaves the checkpoint: the next run covers the missed period.
func MailReport(cfg *config.Config, opts Options, router string, now time.Time) (*report.SinceLastReport, error) {
	msg, sl, err := BuildMailReport(cfg, router, now)
	if err != nil {
		return nil, err
	}
	if err := mail.Send(cfg.Mail, msg); err != nil {
		return sl, err
	}
	return sl, MoveCheckpoint(cfg, opts, sl.Checkpoint)
}
