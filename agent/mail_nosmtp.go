//go:build nosmtp

package agent

import "errors"

// Built with -tags nosmtp: no TLS stack in the binary, so mail goes only
// through option sendmail (msmtp on OpenWrt, which uses the system's TLS
// library).

// HasSMTP says whether this binary has the SMTP client.
const HasSMTP = false

func sendSMTP(*MailConfig, []byte) error {
	return errors.New("mail: this netmon-agent was built without SMTP (-tags nosmtp): set option sendmail '/usr/sbin/sendmail'")
}
