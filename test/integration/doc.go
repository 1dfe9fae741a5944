// Package integration holds mxout's end-to-end tests: the real qmail-remote binary, built once per
// run, delivers to the real Postfix, Dovecot and Unbound started by test/peers (see its README.md).
//
// The tests carry the build tag "integration" and need the environment variable MXOUT_PEERS, the
// absolute state directory of running peers; without it every test fails and says how to start
// them. scripts/test.sh does both:
//
//	MXOUT_PEERS=$PWD/.state/peers go test -tags integration ./test/integration/...
//
// The binaries are built from ./cmd once per run; MXOUT_IT_BINDIR=DIR tests prebuilt ones from DIR
// instead (for example a release build, or a stand-in while cmd/ does not build).
//
// What the tests own: building the binaries, a QMAILHOME per test with its control files, running
// qmail-remote as qmail-send does (one process, message on stdin from a file), reading its NUL-ended
// reports, and finding delivered mail in Postfix's maildir by a unique Message-ID. They must not
// know mxout's packages: only the command-line contract of spec/qmail-remote-behaviour.md, the
// environment variables QMAILHOME, MXOUT_DNS and MXOUT_SMTP_PORT, and the peers' documented data.
//
// Covered: RFC 5321 §3.3 (a mail transaction with several recipients, refusals per recipient), RFC
// 5321 §4.5.2 (dot-stuffing, seen from the receiving side), RFC 6152 (8-bit bodies), RFC 1870
// (SIZE limit), RFC 5321 §5.1 (MX, fallback to the next MX, implicit MX), RFC 7505 (null MX).
package integration
