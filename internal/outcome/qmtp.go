package outcome

import (
	"strings"

	"github.com/mxout/mxout/internal/qmtp"
	"github.com/mxout/mxout/internal/smtp"
)

// FromQMTP is the Outcome a QMTP server's response decided for one recipient (qmtp.txt §5): K
// is a delivery, Z temporary, D permanent. The enhanced code is the one the text carries in
// qmail's "(#5.1.1)" form when its class agrees with the letter, else X.0.0. The phase is
// smtp.PhaseDot: the response comes after the whole package, as the reply to the final dot.
func FromQMTP(r qmtp.Response) Outcome {
	o := Outcome{Phase: smtp.PhaseDot, QMTP: &r, Protocol: "qmtp"}
	class := byte('4')
	switch {
	case r.Accepted():
		o.Status, class = Delivered, '2'
	case r.Permanent():
		o.Status, class = Failed, '5'
	default:
		o.Status = Deferred
	}
	o.DSN = string(class) + ".0.0"
	if d := qmailCode(r.Text); d != "" && d[0] == class {
		o.DSN = d
	}
	return o
}

// qmailCode returns the enhanced status code a qmail text ends with, "(#5.1.1)", or "".
func qmailCode(text string) string {
	i := strings.LastIndex(text, "(#")
	if i < 0 {
		return ""
	}
	code, _, ok := strings.Cut(text[i+2:], ")")
	if !ok || !validDSN(code) {
		return ""
	}
	return code
}

// validDSN checks class.subject.detail (RFC 3463 §2) by parsing it as a reply's enhanced code.
func validDSN(s string) bool {
	if len(s) < 5 || s[0] < '2' || s[0] > '5' {
		return false
	}
	return smtp.Reply{Code: int(s[0]-'0') * 100, Lines: []string{"000 " + s}}.Enhanced() == s
}
