package mail

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/config"
	"golang.org/x/sys/unix"
)

// The mail report: the since-last report as a multipart message (a text
// part and the HTML page), sent over SMTP by ourselves or handed to a local
// sendmail (msmtp on OpenWrt). The checkpoint moves only once the message
// is accepted, so a failed run is covered by the next.

// Subject is the report's subject line on day now.
func Subject(now time.Time) string {
	return "Network Usage Report - " + now.Format("2006-01-02")
}

// Compose builds the message: headers, then a multipart/alternative
// body of the text and the HTML, each quoted-printable UTF-8.
func Compose(m *config.MailConfig, subject string, text, html []byte, now time.Time) ([]byte, error) {
	id := make([]byte, 12)
	unix.Getrandom(id, 0) // the kernel's RNG; crypto/rand would add 0.14 MB
	// A boundary that starts "=_" never occurs in quoted-printable text,
	// where "=" is followed by two hex digits or a line end. Written out
	// rather than with mime/multipart, which links crypto/rand and
	// math/big into the router build for its random boundary.
	boundary := "=_netmon_" + hex.EncodeToString(id)
	var body bytes.Buffer
	for _, part := range []struct {
		kind string
		data []byte
	}{{"text/plain", text}, {"text/html", html}} {
		fmt.Fprintf(&body, "--%s\r\nContent-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary, part.kind)
		qp := quotedprintable.NewWriter(&body)
		if _, err := qp.Write(part.data); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
		body.WriteString("\r\n")
	}
	fmt.Fprintf(&body, "--%s--\r\n", boundary)
	host, _ := os.Hostname()
	if host == "" || strings.ContainsAny(host, " <>@\r\n") {
		host = "netmon-agent.invalid"
	}
	var msg bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&msg, "%s: %s\r\n", k, v) }
	header("From", m.From)
	header("To", strings.Join(m.To, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<"+hex.EncodeToString(id)+"@"+host+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "multipart/alternative; boundary=\""+boundary+"\"")
	header("X-Mailer", "netmon-agent")
	msg.WriteString("\r\n")
	msg.Write(body.Bytes())
	return msg.Bytes(), nil
}

// Send delivers msg to m's recipients: through sendmail when set,
// else over SMTP. The error carries the server's (or sendmail's) answer.
func Send(m *config.MailConfig, msg []byte) error {
	if m.Sendmail != "" {
		return sendmail(m, msg)
	}
	return sendSMTP(m, msg)
}

func sendmail(m *config.MailConfig, msg []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), m.Timeout)
	defer cancel()
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return fmt.Errorf("mail: from %q: %w", m.From, err)
	}
	// An argument vector, never a shell: addresses come from the config.
	args := append([]string{"-i", "-f", from.Address, "--"}, m.To...)
	if m.MsmtpAccount != "" {
		args = append([]string{"-a", m.MsmtpAccount}, args...)
	}
	cmd := exec.CommandContext(ctx, m.Sendmail, args...)
	cmd.Stdin = bytes.NewReader(msg)
	// The program and whatever it starts are one process group, killed
	// whole at the timeout; a child that kept our pipes open past that is
	// cut off after sendmailWaitDelay.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = sendmailWaitDelay
	out := &headWriter{max: maxSendmailOutput}
	cmd.Stdout, cmd.Stderr = out, out
	err = cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState.Success() {
		// It took the message and said so; what it left running holds
		// the output we no longer read.
		err = nil
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("no answer in %s", m.Timeout)
		}
		return fmt.Errorf("mail via %s: %w: %s", m.Sendmail, err, out.line())
	}
	return nil
}

const (
	// maxSendmailOutput is what is kept of the program's output, for the
	// error: the rest is read and dropped.
	maxSendmailOutput = 4 << 10
	// sendmailWaitDelay bounds the wait for the program's pipes to close
	// once it is killed or has exited.
	sendmailWaitDelay = 500 * time.Millisecond
)

// headWriter keeps the first max bytes written to it and counts the rest.
type headWriter struct {
	max     int
	buf     bytes.Buffer
	dropped int64
}

func (w *headWriter) Write(p []byte) (int, error) {
	n := min(max(w.max-w.buf.Len(), 0), len(p))
	w.buf.Write(p[:n])
	w.dropped += int64(len(p) - n)
	return len(p), nil
}

// line is what was kept, on one line, and how much was not.
func (w *headWriter) line() string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(w.buf.String(), "?")), " ")
	if w.dropped > 0 {
		s += fmt.Sprintf(" (%d more bytes not shown)", w.dropped)
	}
	return s
}
