// Package mail composes the report mail (a text part and the HTML page)
// and hands it to sendmail (msmtp on OpenWrt) or, in builds with SMTP, to
// a submission server itself.
//
// # Sending
//
// `port` overrides the security's default. AUTH is PLAIN (or LOGIN when the
// server offers only that), and never over an unencrypted connection except
// to localhost. The server's certificate is checked against the system's CA
// store (`ca-bundle` on OpenWrt). With `sendmail` the message goes to that
// program's standard input as `sendmail -i -f FROM -- TO...` (no shell);
// with `msmtp_account NAME` as `msmtp -a NAME -i -f FROM -- TO...`
// (`/usr/bin/msmtp` unless `sendmail` names another). `sendmail` must be an
// absolute path to an executable regular file: it runs as root. `timeout`
// bounds the whole run: the program and everything it started are killed at
// it (one process group), a child that keeps the output open is cut off half
// a second later, and of what the program prints the first 4 KiB make the
// error, on one line. The SMTP options (`server` and the rest) work only in
// `netmon-agent-full`. A failed send exits 1 with the server's answer (`mail
// via smtp.example.org:587: RCPT TO <owner@example.org>: 550 5.1.1 no such
// mailbox`), and the next run covers the period the failed one missed.
package mail
