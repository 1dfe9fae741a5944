// Package qmailctl reads a qmail control directory ($QMAILHOME/control) into
// typed values, as qmail-remote uses them: me, helohost, timeoutconnect,
// timeoutremote, smtproutes (netqmail and s/qmail grammar), moreipme,
// notipme, and the s/qmail 4.3 files qmtproutes, authsenders, domainips,
// tlsdestinations and domaincerts, and mxout's authinclear and
// authmechanisms (AuthPolicy). Routing.Lookup answers "where and how
// does mail from this sender to this host go" from the four routing files.
//
// It owns the file grammars and the lookup rules of those tables (domain
// suffix search, case-insensitive keys, last line wins). It must not know the
// network: it resolves no names, opens no connections and loads no
// certificates or keys; it only says what the files ask for. MX planning
// (package route), TLS policy (package tlspolicy), binding, AUTH and key
// loading belong to other packages.
//
// Reading follows qmail's control.c: single-line files use their first line
// with trailing newline, space and tab removed (a carriage return is kept);
// multi-line files drop empty lines and lines starting with '#', keep leading
// blanks, and count a last line without a newline. An absent file means the
// default; any other read failure is a *FileError that wraps ErrControl.
//
// Where mxout departs from the reference programs, it says so at the
// function that does it: bracketed IPv6 relays in smtproutes (address
// literals as in RFC 5321 §4.1.3, "IPv6:" tag included), a most-specific-key
// lookup in tlsdestinations, and strict parsers for tlsdestinations and for
// s/qmail route syntax that refuse lines the reference would silently
// ignore or misread. docs/control-files.md lists every such choice.
package qmailctl
