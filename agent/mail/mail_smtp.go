//go:build !nosmtp

package mail

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/config"
)

// The SMTP client: STARTTLS or implicit TLS, AUTH PLAIN or LOGIN, one
// deadline for the conversation. It costs the binary Go's TLS stack (about
// 3.4 MB on mips); `go build -tags nosmtp` leaves it out, and mail then
// goes through option sendmail only.

func sendSMTP(m *config.MailConfig, msg []byte) error {
	addr := net.JoinHostPort(m.Server, strconv.Itoa(m.Port))
	wrap := func(step string, err error) error { return fmt.Errorf("mail via %s: %s: %w", addr, step, err) }
	tlsConfig, err := tlsFor(m)
	if err != nil {
		return wrap("ca_file", err)
	}
	dialer := &net.Dialer{Timeout: m.Timeout}
	var conn net.Conn
	if m.Security == "tls" {
		conn, err = tls.DialWithDialer(dialer, "tcp", addr, tlsConfig)
	} else {
		conn, err = dialer.Dial("tcp", addr)
	}
	if err != nil {
		return wrap("connect", err)
	}
	defer conn.Close()
	// One deadline for the whole conversation: a server that stalls cannot
	// hold the cron job (or the daemon's caller) forever.
	conn.SetDeadline(time.Now().Add(m.Timeout))
	c, err := smtp.NewClient(conn, m.Server)
	if err != nil {
		return wrap("greeting", err)
	}
	defer c.Close()
	if step, err := login(c, m, tlsConfig); err != nil {
		return wrap(step, err)
	}
	if step, err := deliver(c, m, msg); err != nil {
		return wrap(step, err)
	}
	// The message was accepted at the end of DATA; a lost goodbye does not
	// unsend it.
	_ = c.Quit()
	return nil
}

// tlsFor is the TLS configuration for m's server: the system's roots, or
// option ca_file's.
func tlsFor(m *config.MailConfig) (*tls.Config, error) {
	tlsConfig := &tls.Config{ServerName: m.Server}
	if m.CAFile == "" {
		return tlsConfig, nil
	}
	pem, err := os.ReadFile(m.CAFile)
	if err != nil {
		return nil, err
	}
	tlsConfig.RootCAs = x509.NewCertPool()
	if !tlsConfig.RootCAs.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no PEM certificate in %s", m.CAFile)
	}
	return tlsConfig, nil
}

// login says hello, starts TLS and authenticates as m asks; it returns the
// step that failed.
func login(c *smtp.Client, m *config.MailConfig, tlsConfig *tls.Config) (string, error) {
	if host, _ := os.Hostname(); host != "" && !strings.ContainsAny(host, " \r\n") {
		if err := c.Hello(host); err != nil {
			return "EHLO", err
		}
	}
	if m.Security == "starttls" {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return "STARTTLS", errors.New("the server does not offer STARTTLS (option security 'tls' or 'none'?)")
		}
		if err := c.StartTLS(tlsConfig); err != nil {
			return "STARTTLS", err
		}
	}
	if m.Username == "" {
		return "", nil
	}
	ok, mechs := c.Extension("AUTH")
	if !ok {
		return "AUTH", errors.New("the server offers no AUTH")
	}
	var auth smtp.Auth = smtp.PlainAuth("", m.Username, m.Password, m.Server)
	if fields := strings.Fields(mechs); !slices.Contains(fields, "PLAIN") && slices.Contains(fields, "LOGIN") {
		auth = &loginAuth{user: m.Username, pass: m.Password, server: m.Server}
	}
	if err := c.Auth(auth); err != nil {
		return "AUTH", err
	}
	return "", nil
}

// deliver sends msg from m.From to every m.To; it returns the step that
// failed.
func deliver(c *smtp.Client, m *config.MailConfig, msg []byte) (string, error) {
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return "MAIL FROM", err
	}
	if err := c.Mail(from.Address); err != nil {
		return "MAIL FROM", err
	}
	for _, to := range m.To {
		if err := c.Rcpt(to); err != nil {
			return "RCPT TO <" + to + ">", err
		}
	}
	w, err := c.Data()
	if err != nil {
		return "DATA", err
	}
	if _, err := w.Write(msg); err != nil {
		return "DATA", err
	}
	if err := w.Close(); err != nil {
		return "DATA", err
	}
	return "", nil
}

// loginAuth is the LOGIN mechanism, for servers that offer it without
// PLAIN. Like smtp.PlainAuth it refuses to send a password in the clear.
type loginAuth struct{ user, pass, server string }

func (a *loginAuth) Start(s *smtp.ServerInfo) (string, []byte, error) {
	if !s.TLS && !isLocalhost(s.Name) {
		return "", nil, errors.New("unencrypted connection: LOGIN would send the password in the clear")
	}
	if s.Name != a.server {
		return "", nil, errors.New("wrong host name")
	}
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(from []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch strings.ToLower(strings.TrimSpace(string(from))) {
	case "username:":
		return []byte(a.user), nil
	case "password:":
		return []byte(a.pass), nil
	}
	return nil, fmt.Errorf("unexpected LOGIN challenge %q", from)
}

func isLocalhost(name string) bool {
	return name == "localhost" || name == "127.0.0.1" || name == "::1"
}
