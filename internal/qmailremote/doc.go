// Package qmailremote is the qmail-remote program without the process: it turns the
// arguments, the environment, the control directory and standard input into a delivery job,
// runs it, and writes the report bytes qmail-send reads (spec/qmail-remote-behaviour.md).
//
// It only wires the other packages together; protocol, routing and report texts live there.
//
// Environment: QMAILHOME (default /var/qmail; control files in $QMAILHOME/control), MXOUT_DNS
// (DNS servers instead of /etc/resolv.conf), MXOUT_SMTP_PORT (port for hops from DNS, default 25).
package qmailremote
