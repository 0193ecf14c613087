package agent_test

import (
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/account/accounttest"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/mail"
	"github.com/netmon-agent/netmon-agent/agent/uci"
)

// The sendmail path runs the program with an argument vector and the
// message on its standard input; its complaint is the error.
func TestMail_Sendmail(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "sendmail")
	os.WriteFile(prog, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > \""+dir+"/args\"\ncat > \""+dir+"/stdin\"\n"), 0o755)
	m := &config.MailConfig{To: []string{"owner@example.org", "x;rm -rf /@example.org"}, From: "Router <router@example.org>", Sendmail: prog, Timeout: 10 * time.Second}
	msg := composeTest(t, m)
	if err := mail.Send(m, msg); err != nil {
		t.Fatal(err)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	if want := "-i\n-f\nrouter@example.org\n--\nowner@example.org\nx;rm -rf /@example.org\n"; string(args) != want {
		t.Errorf("args %q, want %q", args, want)
	}
	stdin, _ := os.ReadFile(filepath.Join(dir, "stdin"))
	if string(stdin) != string(msg) {
		t.Error("sendmail did not get the message on stdin")
	}
	checkMessage(t, stdin, "owner@example.org, x;rm -rf /@example.org")
	os.WriteFile(prog, []byte("#!/bin/sh\necho 'msmtp: cannot connect to smtp.example.org' >&2\nexit 75\n"), 0o755)
	if err := mail.Send(m, msg); err == nil || !strings.Contains(err.Error(), "cannot connect to smtp.example.org") {
		t.Errorf("err %v, want sendmail's complaint", err)
	}
}

func TestMailConfig(t *testing.T) {
	cfg := accounttest.MustConfig(t, `
config mail
	list to 'owner@example.org'
	list to 'Second <second@example.org>'
	option from 'router@example.org'
	option server 'smtp.example.org'
	option security 'tls'
	option username 'router'
	option password 'p w'
`)
	m := cfg.Mail
	if m == nil || strings.Join(m.To, ",") != "owner@example.org,second@example.org" || m.Port != 465 || m.Security != "tls" || m.Password != "p w" || m.Timeout != config.DefaultMailTimeout {
		t.Fatalf("mail %+v", m)
	}
	for _, bad := range []string{
		"config mail\n\toption from 'a@example.org'\n\toption server 's'\n",                                  // no recipient
		"config mail\n\tlist to 'not an address'\n\toption from 'a@example.org'\n\toption server 's'\n",      // bad address
		"config mail\n\tlist to 'b@example.org'\n\toption from 'a@example.org'\n",                            // no way to send
		"config mail\n\tlist to 'b@example.org'\n\toption from 'a@example.org'\n\toption sendmail 'msmtp'\n", // relative program
		"config mail\n\tlist to 'b@example.org'\n\toption from 'a@example.org'\n\toption server 's'\n\toption security 'ssl'\n",
		"config mail\n\tlist to 'b@example.org'\n\toption from 'a@example.org'\n\toption server 's'\n\toption port '0'\n",
	} {
		secs, err := uci.Parse("test.conf", strings.NewReader(bad))
		if err == nil {
			_, err = config.FromSections("test.conf", secs)
		}
		if err == nil {
			t.Errorf("accepted:\n%s", bad)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("error spans lines: %q", err)
		}
	}
}

const mailText = "Network usage from 2026-11-24 08:00 to 2026-11-25 08:00\n\n== RESET DETECTED! ==\nproxy   1.21 GiB\n"
const mailHTML = "<!DOCTYPE html><html><body><h1>Network Usage Report - 2026-11-25</h1><svg></svg></body></html>\n"

// checkMessage parses msg as a mail client would: headers, then both
// alternative parts, decoded.
func checkMessage(t *testing.T, data []byte, wantTo string) {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("not a mail message: %v", err)
	}
	if got := msg.Header.Get("Subject"); got != "Network Usage Report - 2026-11-25" {
		t.Errorf("subject %q", got)
	}
	if got := msg.Header.Get("To"); got != wantTo {
		t.Errorf("To %q", got)
	}
	media, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || media != "multipart/alternative" {
		t.Fatalf("content type %q, %v", media, err)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p)
		kind, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts[kind] = string(body)
	}
	// Line breaks in text parts are CRLF on the wire (RFC 2045).
	if parts["text/plain"] != strings.ReplaceAll(mailText, "\n", "\r\n") {
		t.Errorf("text part %q", parts["text/plain"])
	}
	if parts["text/html"] != strings.ReplaceAll(mailHTML, "\n", "\r\n") {
		t.Errorf("html part %q", parts["text/html"])
	}
}

func composeTest(t *testing.T, m *config.MailConfig) []byte {
	t.Helper()
	msg, err := mail.Compose(m, mail.Subject(time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)), []byte(mailText), []byte(mailHTML), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// option timeout bounds the whole send: a program that sleeps, or leaves a
// child holding its output open, is killed with everything it started, and
// a program that prints without end costs 4 KiB, in an error of one line.
func TestMail_SendmailIsBounded(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "sendmail")
	m := &config.MailConfig{To: []string{"owner@example.org"}, From: "router@example.org", Sendmail: prog, Timeout: time.Second}
	msg := composeTest(t, m)
	for _, c := range []struct{ name, script, want string }{
		{"sleeps", "#!/bin/sh\ncat >/dev/null\nsleep 30\n", "no answer in 1s"},
		{"a child keeps stdout open", "#!/bin/sh\ncat >/dev/null\n(sleep 30; echo late) &\nexit 0\n", ""},
		{"a child keeps stdout open, the parent sleeps", "#!/bin/sh\ncat >/dev/null\n(sleep 30) &\nsleep 30\n", "no answer in 1s"},
		{"prints without end", "#!/bin/sh\ncat >/dev/null\nprintf 'line one\\nline two\\n'\nyes 0123456789abcdef | head -c 300000000\nexit 1\n", "line one line two"},
	} {
		os.WriteFile(prog, []byte(c.script), 0o755)
		start := time.Now()
		err := mail.Send(m, msg)
		took := time.Since(start)
		if took > 10*time.Second {
			t.Errorf("%s: the send took %s with a timeout of 1s", c.name, took.Round(time.Millisecond))
		}
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		case err != nil && (len(err.Error()) > 5<<10 || strings.Contains(err.Error(), "\n")):
			t.Errorf("%s: an error of %d bytes, or of more than one line", c.name, len(err.Error()))
		}
	}
}
