package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// The mail report: the since-last report as a multipart message (a text
// part and the HTML page), sent over SMTP by ourselves or handed to a local
// sendmail (msmtp on OpenWrt). The checkpoint moves only once the message
// is accepted, so a failed run is covered by the next.

// A MailConfig is `config mail`.
type MailConfig struct {
	To   []string
	From string
	// Server and Port of the SMTP submission server; Security is starttls
	// (the default, port 587), tls (implicit TLS, port 465) or none (port 25).
	Server   string
	Port     int
	Security string
	Username string
	Password string
	Timeout  time.Duration
	// Sendmail, when set, is the program the message is piped to instead.
	Sendmail string
	// CAFile, when set, is a PEM file of the only CAs the server's
	// certificate may chain to (a private mail server's own CA); else the
	// system's store.
	CAFile string
}

// DefaultMailTimeout bounds a whole SMTP conversation or sendmail run.
const DefaultMailTimeout = 30 * time.Second

func mailFromSection(s uciSection, bad func(int, string, ...any) error) (*MailConfig, error) {
	m := &MailConfig{Security: "starttls", Timeout: DefaultMailTimeout}
	for _, o := range s.Options {
		v := strings.TrimSpace(o.Value)
		if strings.ContainsAny(v, "\r\n") {
			return nil, bad(o.Line, "mail: option %s holds a line break", o.Name)
		}
		if o.List && o.Name != "to" {
			return nil, bad(o.Line, "mail: option %s takes one value, not a list", o.Name)
		}
		var err error
		switch o.Name {
		case "to":
			var a *mail.Address
			if a, err = mail.ParseAddress(v); err == nil {
				m.To = append(m.To, a.Address)
			}
		case "from":
			_, err = mail.ParseAddress(v)
			m.From = v
		case "server":
			m.Server = v
			if v == "" || strings.ContainsAny(v, " /:") {
				err = fmt.Errorf("malformed server %q: a host name or address", v)
			}
		case "port":
			m.Port, err = strconv.Atoi(v)
			if err != nil || m.Port < 1 || m.Port > 65535 {
				err = fmt.Errorf("port %q is not 1-65535", v)
			}
		case "security":
			m.Security = v
			if v != "starttls" && v != "tls" && v != "none" {
				err = fmt.Errorf("security %q is not starttls, tls or none", v)
			}
		case "username":
			m.Username = v
		case "password":
			m.Password = o.Value
		case "timeout":
			var secs int
			secs, err = strconv.Atoi(v)
			if err != nil || secs < 1 || secs > 600 {
				err = fmt.Errorf("timeout %q is not 1-600 seconds", v)
			}
			m.Timeout = time.Duration(secs) * time.Second
		case "sendmail":
			m.Sendmail = v
			if !strings.HasPrefix(v, "/") {
				err = fmt.Errorf("sendmail %q is not an absolute path", v)
			}
		case "ca_file":
			m.CAFile = v
			if !strings.HasPrefix(v, "/") {
				err = fmt.Errorf("ca_file %q is not an absolute path", v)
			}
		default:
			err = fmt.Errorf("unknown option %q", o.Name)
		}
		if err != nil {
			return nil, bad(o.Line, "mail: %v", err)
		}
	}
	if len(m.To) == 0 || m.From == "" {
		return nil, bad(s.Line, "a mail section needs list to and option from")
	}
	if m.Server == "" && m.Sendmail == "" {
		return nil, bad(s.Line, "a mail section needs option server (SMTP) or option sendmail")
	}
	if m.Port == 0 {
		m.Port = map[string]int{"starttls": 587, "tls": 465, "none": 25}[m.Security]
	}
	return m, nil
}

// MailSubject is the report's subject line on day now.
func MailSubject(now time.Time) string {
	return "Network Usage Report - " + now.Format("2006-01-02")
}

// ComposeMail builds the message: headers, then a multipart/alternative
// body of the text and the HTML, each quoted-printable UTF-8.
func ComposeMail(m *MailConfig, subject string, text, html []byte, now time.Time) ([]byte, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, part := range []struct {
		kind string
		data []byte
	}{{"text/plain", text}, {"text/html", html}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.kind + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write(part.data); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	id := make([]byte, 12)
	rand.Read(id)
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
	header("Content-Type", "multipart/alternative; boundary="+mw.Boundary())
	header("X-Mailer", "netmon-agent")
	msg.WriteString("\r\n")
	msg.Write(body.Bytes())
	return msg.Bytes(), nil
}

// SendMail delivers msg to m's recipients: through sendmail when set,
// else over SMTP. The error carries the server's (or sendmail's) answer.
func SendMail(m *MailConfig, msg []byte) error {
	if m.Sendmail != "" {
		return sendmail(m, msg)
	}
	return sendSMTP(m, msg)
}

func sendmail(m *MailConfig, msg []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), m.Timeout)
	defer cancel()
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return fmt.Errorf("mail: from %q: %w", m.From, err)
	}
	// An argument vector, never a shell: addresses come from the config.
	args := append([]string{"-i", "-f", from.Address, "--"}, m.To...)
	cmd := exec.CommandContext(ctx, m.Sendmail, args...)
	cmd.Stdin = bytes.NewReader(msg)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("no answer in %s", m.Timeout)
		}
		return fmt.Errorf("mail via %s: %w: %s", m.Sendmail, err, strings.TrimSpace(out.String()))
	}
	return nil
}
