// Package mail composes the report mail (a text part and the HTML page)
// and hands it to sendmail (msmtp on OpenWrt) or, in builds with SMTP, to
// a submission server itself.
package mail
