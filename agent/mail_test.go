//go:build !nosmtp

package agent_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/netmon-agent/netmon-agent/agent"
	"github.com/netmon-agent/netmon-agent/agent/agenttest"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/mail"
)

// These tests send to a real SMTP server (emersion/go-smtp) listening on
// the loopback, and read back what it received.

// A received message, as the server saw it.
type received struct {
	from   string
	to     []string
	data   []byte
	tls    bool
	authed string
}

type smtpBackend struct {
	mu       sync.Mutex
	msgs     []received
	rejectTo string // a recipient the server refuses
	user     string // the one user AUTH accepts, with pass
	pass     string
}

func (b *smtpBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{b: b, c: c}, nil
}

type smtpSession struct {
	b   *smtpBackend
	c   *smtp.Conn
	cur received
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != s.b.user || pass != s.b.pass {
			return errors.New("invalid credentials")
		}
		s.cur.authed = user
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.b.user != "" && s.cur.authed == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.cur.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == s.b.rejectTo {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox here"}
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = data
	_, s.cur.tls = s.c.TLSConnectionState()
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, s.cur)
	s.b.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset()        { s.cur = received{authed: s.cur.authed} }
func (s *smtpSession) Logout() error { return nil }

func (b *smtpBackend) received() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.msgs...)
}

// selfSigned makes a certificate for 127.0.0.1 and a PEM file of it, for
// option ca_file.
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "netmon test smtp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, caFile
}

// plainMailSection is a config's mail section for the test server on port,
// without TLS.
func plainMailSection(port int) string {
	return `config mail
	list to 'owner@example.org'
	option from 'router@example.org'
	option server '127.0.0.1'
	option port '` + strconv.Itoa(port) + `'
	option security 'none'
`
}

// startSMTP serves b on the loopback: plain with STARTTLS offered when
// starttls, implicit TLS when implicit. It returns the port and a CA file
// that trusts the server.
func startSMTP(t *testing.T, b *smtpBackend, starttls, implicit bool) (int, string) {
	t.Helper()
	cert, caFile := selfSigned(t)
	srv := smtp.NewServer(b)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	if starttls || implicit {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	// AUTH over the loopback without TLS is only for the plain test; the
	// client refuses to send a password in the clear anyway.
	srv.AllowInsecureAuth = !starttls && !implicit
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if implicit {
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port, caFile
}

func mailConfig(port int, security string, caFile string) *config.MailConfig {
	return &config.MailConfig{
		To: []string{"owner@example.org", "second@example.org"}, From: "Router <router@example.org>",
		Server: "127.0.0.1", Port: port, Security: security, Timeout: 10 * time.Second, CAFile: caFile,
	}
}

func TestMail_STARTTLSWithAuth(t *testing.T) {
	b := &smtpBackend{user: "router", pass: "s3cret"}
	port, caFile := startSMTP(t, b, true, false)
	m := mailConfig(port, "starttls", caFile)
	m.Username, m.Password = "router", "s3cret"
	if err := mail.Send(m, composeTest(t, m)); err != nil {
		t.Fatal(err)
	}
	got := b.received()
	if len(got) != 1 {
		t.Fatalf("server received %d messages", len(got))
	}
	if !got[0].tls || got[0].authed != "router" {
		t.Errorf("tls %v, authed as %q: want STARTTLS and AUTH", got[0].tls, got[0].authed)
	}
	if got[0].from != "router@example.org" || strings.Join(got[0].to, ",") != "owner@example.org,second@example.org" {
		t.Errorf("envelope from %q to %v", got[0].from, got[0].to)
	}
	checkMessage(t, got[0].data, "owner@example.org, second@example.org")
}

func TestMail_ImplicitTLS(t *testing.T) {
	b := &smtpBackend{}
	port, caFile := startSMTP(t, b, false, true)
	m := mailConfig(port, "tls", caFile)
	if err := mail.Send(m, composeTest(t, m)); err != nil {
		t.Fatal(err)
	}
	if got := b.received(); len(got) != 1 || !got[0].tls {
		t.Fatalf("received %+v", got)
	}
	checkMessage(t, b.received()[0].data, "owner@example.org, second@example.org")
}

func TestMail_Plain(t *testing.T) {
	b := &smtpBackend{}
	port, _ := startSMTP(t, b, false, false)
	m := mailConfig(port, "none", "")
	if err := mail.Send(m, composeTest(t, m)); err != nil {
		t.Fatal(err)
	}
	if got := b.received(); len(got) != 1 || got[0].tls {
		t.Fatalf("received %+v", got)
	}
}

// STARTTLS asked for but not offered: nothing is sent in the clear.
func TestMail_STARTTLSNotOffered(t *testing.T) {
	b := &smtpBackend{}
	port, _ := startSMTP(t, b, false, false)
	m := mailConfig(port, "starttls", "")
	err := mail.Send(m, composeTest(t, m))
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("err %v, want one naming STARTTLS", err)
	}
	if len(b.received()) != 0 {
		t.Error("sent without TLS")
	}
}

// A certificate the client does not trust stops the send.
func TestMail_UntrustedCertificate(t *testing.T) {
	b := &smtpBackend{}
	port, _ := startSMTP(t, b, true, false)
	_, other := selfSigned(t) // a CA that did not sign the server's
	m := mailConfig(port, "starttls", other)
	if err := mail.Send(m, composeTest(t, m)); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err %v, want a certificate error", err)
	}
}

func TestMail_RejectionCarriesTheServersAnswer(t *testing.T) {
	b := &smtpBackend{rejectTo: "second@example.org"}
	port, caFile := startSMTP(t, b, true, false)
	m := mailConfig(port, "starttls", caFile)
	err := mail.Send(m, composeTest(t, m))
	if err == nil || !strings.Contains(err.Error(), "550") || !strings.Contains(err.Error(), "no such mailbox here") ||
		!strings.Contains(err.Error(), "second@example.org") {
		t.Fatalf("err %v, want the server's 550 answer for the recipient", err)
	}
}

func TestMail_WrongPassword(t *testing.T) {
	b := &smtpBackend{user: "router", pass: "s3cret"}
	port, caFile := startSMTP(t, b, true, false)
	m := mailConfig(port, "starttls", caFile)
	m.Username, m.Password = "router", "wrong"
	if err := mail.Send(m, composeTest(t, m)); err == nil || !strings.Contains(err.Error(), "AUTH") {
		t.Fatalf("err %v, want an AUTH failure", err)
	}
}

// A server that accepts the connection and never speaks: the send gives
// up at the timeout instead of hanging the cron job.
func TestMail_SilentServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	m := mailConfig(ln.Addr().(*net.TCPAddr).Port, "starttls", "")
	m.Timeout = 200 * time.Millisecond
	if err := mail.Send(m, composeTest(t, m)); err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("err %v, want a timeout", err)
	}
}

// The whole command against a running daemon: a refused send leaves the
// checkpoint where it was, an accepted one moves it to the report's end.
func TestMailReport_CheckpointMovesOnlyWhenSent(t *testing.T) {
	b := &smtpBackend{rejectTo: "owner@example.org"}
	port, _ := startSMTP(t, b, false, false)
	cfg, stop := agenttest.RunFakeWith(t, "\n"+plainMailSection(port))
	defer stop()
	if _, err := agent.MailReport(cfg, agent.Options{}, "router.lan", time.Now()); err == nil || !strings.Contains(err.Error(), "550") {
		t.Fatalf("err %v, want the refusal", err)
	}
	sl, err := agent.ReadSinceLast(cfg, time.Now())
	if err != nil || !sl.First {
		t.Fatalf("after a failed send the checkpoint moved: %+v, %v", sl, err)
	}
	b.mu.Lock()
	b.rejectTo = ""
	b.mu.Unlock()
	sent, err := agent.MailReport(cfg, agent.Options{}, "router.lan", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := b.received(); len(got) != 1 || !strings.Contains(string(got[0].data), "Network Usage Report - ") {
		t.Fatalf("received %d messages", len(got))
	}
	next, err := agent.ReadSinceLast(cfg, time.Now())
	if err != nil || next.First || !next.From.Equal(sent.To) {
		t.Errorf("after a send the next report is from %v (first %v), want %v; %v", next.From, next.First, sent.To, err)
	}
}

// option msmtp_account sends through msmtp with that account of the
// owner's msmtprc, as OpenWrt's banip and adblock do: the real msmtp,
// against the test server.
func TestMailReport_ThroughAnMsmtpAccount(t *testing.T) {
	msmtp, err := exec.LookPath("msmtp")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("this test needs msmtp (make test installs it)")
		}
		t.Skip("no msmtp")
	}
	b := &smtpBackend{}
	port, _ := startSMTP(t, b, false, false)
	home := t.TempDir()
	rc := fmt.Sprintf("account router\nhost 127.0.0.1\nport %d\nfrom router@example.org\nauth off\ntls off\n", port)
	if err := os.WriteFile(filepath.Join(home, ".msmtprc"), []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home) // msmtp reads the account from ~/.msmtprc
	cfg, stop := agenttest.RunFakeWith(t, `
config mail
	list to 'owner@example.org'
	option from 'router@example.org'
	option msmtp_account 'router'
	option sendmail '`+msmtp+`'
`)
	defer stop()
	if _, err := agent.MailReport(cfg, agent.Options{}, "router.lan", time.Now()); err != nil {
		t.Fatal(err)
	}
	got := b.received()
	if len(got) != 1 || !strings.Contains(string(got[0].data), "Network Usage Report - ") || got[0].to[0] != "owner@example.org" {
		t.Fatalf("received %+v", got)
	}
}
