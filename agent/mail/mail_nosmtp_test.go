//go:build nosmtp

package mail

import (
	"strings"
	"testing"

	"github.com/netmon-agent/netmon-agent/agent/config"
)

// Without the SMTP client a mail section with a server fails in one line
// that names the way out.
func TestMail_NoSMTPBuildNamesSendmail(t *testing.T) {
	m := &config.MailConfig{To: []string{"owner@example.org"}, From: "router@example.org", Server: "smtp.example.org", Port: 587, Security: "starttls"}
	if err := Send(m, []byte("x")); err == nil || !strings.Contains(err.Error(), "option sendmail") {
		t.Fatalf("err %v", err)
	}
}
