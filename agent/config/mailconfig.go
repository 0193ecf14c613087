package config

import (
	"errors"
	"fmt"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/uci"
)

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
	// MsmtpAccount, when set, names the account of /etc/msmtprc that
	// msmtp sends with (msmtp -a NAME), as banip and adblock do; Sendmail
	// is then msmtp (/usr/bin/msmtp unless option sendmail says).
	MsmtpAccount string
	// CAFile, when set, is a PEM file of the only CAs the server's
	// certificate may chain to (a private mail server's own CA); else the
	// system's store.
	CAFile string
}

// DefaultMsmtp is where OpenWrt's msmtp package puts the program.
const DefaultMsmtp = "/usr/bin/msmtp"

// validAccount reports whether s can name an msmtp account: it goes on
// msmtp's command line.
func validAccount(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '-' {
		return false
	}
	for _, c := range s {
		if !(c == '.' || c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// DefaultMailTimeout bounds a whole SMTP conversation or sendmail run.
const DefaultMailTimeout = 30 * time.Second

func MailFromSection(s uci.Section, bad func(int, string, ...any) error) (*MailConfig, error) {
	m := &MailConfig{Security: "starttls", Timeout: DefaultMailTimeout}
	for _, o := range s.Options {
		v := strings.TrimSpace(o.Value)
		if strings.ContainsAny(v, "\r\n") {
			return nil, bad(o.Line, "mail: option %s holds a line break", o.Name)
		}
		if o.List && o.Name != "to" {
			return nil, bad(o.Line, "mail: option %s takes one value, not a list", o.Name)
		}
		if err := m.setOption(o.Name, v, o.Value); err != nil {
			return nil, bad(o.Line, "mail: %v", err)
		}
	}
	if len(m.To) == 0 || m.From == "" {
		return nil, bad(s.Line, "a mail section needs list to and option from")
	}
	if m.MsmtpAccount != "" && m.Sendmail == "" {
		m.Sendmail = DefaultMsmtp
	}
	if m.Server == "" && m.Sendmail == "" {
		return nil, bad(s.Line, "a mail section needs option server (SMTP), option msmtp_account or option sendmail")
	}
	if m.Port == 0 {
		m.Port = map[string]int{"starttls": 587, "tls": 465, "none": 25}[m.Security]
	}
	return m, nil
}

// setOption sets mail option name from its value v (trimmed; raw as
// written, for the password) and says what is wrong with it.
func (m *MailConfig) setOption(name, v, raw string) error {
	var err error
	switch name {
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
		m.Password = raw
	case "timeout":
		var secs int
		secs, err = strconv.Atoi(v)
		if err != nil || secs < 1 || secs > 600 {
			err = fmt.Errorf("timeout %q is not 1-600 seconds", v)
		}
		m.Timeout = time.Duration(secs) * time.Second
	case "sendmail":
		m.Sendmail = v
		err = checkProgram(v)
	case "msmtp_account":
		m.MsmtpAccount = v
		if !validAccount(v) {
			err = fmt.Errorf("msmtp_account %q is not an account name (letters, digits, '.', '_', '-')", v)
		}
	case "ca_file":
		m.CAFile = v
		if !strings.HasPrefix(v, "/") {
			err = fmt.Errorf("ca_file %q is not an absolute path", v)
		}
	default:
		err = fmt.Errorf("unknown option %q", name)
	}
	return err
}

// checkProgram says whether v is an absolute path to an executable regular
// file: the program that sends mail runs as root.
func checkProgram(v string) error {
	if !strings.HasPrefix(v, "/") {
		return fmt.Errorf("sendmail %q is not an absolute path", v)
	}
	fi, err := os.Stat(v)
	switch {
	case err != nil:
		return fmt.Errorf("sendmail %q: %v: want an executable file", v, errors.Unwrap(err))
	case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("sendmail %q is not an executable regular file", v)
	}
	return nil
}
