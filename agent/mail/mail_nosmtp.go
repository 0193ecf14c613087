//go:build nosmtp

package mail

import (
	"errors"

	"github.com/netmon-agent/netmon-agent/agent/config"
)

// Built with -tags nosmtp: no TLS stack in the binary, so mail goes only
// through option sendmail (msmtp on OpenWrt, which uses the system's TLS
// library).

func sendSMTP(*config.MailConfig, []byte) error {
	return errors.New("mail: this netmon-agent was built without SMTP (-tags nosmtp): set option sendmail '/usr/sbin/sendmail'")
}
