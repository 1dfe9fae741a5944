// Package transcript writes the SMTP dialogue for the -l FILE flag of mxout's delivery commands:
// one line per command or reply line, prefixed with the process id and a direction, appended to
// a file that several delivery processes share.
//
// It owns the file format and the redaction, and nothing of the protocol beyond what redaction
// needs to recognise: the AUTH command and its 334 challenges (RFC 4954 §4), the 354 that opens
// the message text and the final dot (RFC 5321 §4.1.1.4). The format and every decision are in
// docs/transcript.md.
//
// Redaction fails closed: once a client sends AUTH, or a server sends 334, every client line is
// "***" until the server's final reply that is not 334; the AUTH command keeps only a valid
// mechanism name. Message text is never written, only its size.
package transcript
