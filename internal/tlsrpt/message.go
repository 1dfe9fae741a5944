package tlsrpt

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"time"
)

// MessageHeader holds what the report message needs besides the report.
type MessageHeader struct {
	From      string    // the reporting address, e.g. "tlsrpt@sender.example"; required
	To        string    // one address from Record.Mailto; required
	Date      time.Time // zero means now
	MessageID string    // without angle brackets; "" means a random one at Submitter
	Boundary  string    // the MIME boundary; "" means a random one (tests set it)
}

// Message returns the report as an RFC 5322 message (RFC 8460 §5.3), ready for the engine:
//
//   - Subject: "Report Domain: <policy domain> Submitter: <submitter> Report-ID: <<id>>";
//   - TLS-Report-Domain and TLS-Report-Submitter header fields;
//   - Content-Type multipart/report with report-type="tlsrpt": a short text/plain part for
//     people, then the gzipped report as application/tlsrpt+gzip, base64, an attachment
//     named by Filename.
//
// Lines end in CRLF. The message is not DKIM-signed, which RFC 8460 §5.3 requires: the
// sender must sign it before it leaves (not done by mxout yet).
func (a *Aggregate) Message(h MessageHeader) ([]byte, error) {
	if err := checkAddress(h.From); err != nil {
		return nil, fmt.Errorf("tlsrpt: message from: %w", err)
	}
	if err := checkAddress(h.To); err != nil {
		return nil, fmt.Errorf("tlsrpt: message to: %w", err)
	}
	if a.PolicyDomain == "" || a.Submitter == "" {
		return nil, fmt.Errorf("tlsrpt: message: policy domain and submitter are required")
	}
	for _, v := range []string{a.PolicyDomain, a.Submitter, a.Report.ReportID, h.MessageID, h.Boundary} {
		if strings.ContainsAny(v, "\r\n\"<>") {
			return nil, fmt.Errorf("tlsrpt: message: %q cannot go into a header field", bounded(v, 100))
		}
	}
	gz, err := a.Gzip()
	if err != nil {
		return nil, err
	}
	date := h.Date
	if date.IsZero() {
		date = time.Now()
	}
	id := h.MessageID
	if id == "" {
		id = randomToken() + "@" + a.Submitter
	}
	boundary := h.Boundary
	if boundary == "" {
		boundary = "tlsrpt-" + randomToken()
	}

	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	w("From: %s", h.From)
	w("To: %s", h.To)
	w("Subject: Report Domain: %s Submitter: %s Report-ID: <%s>", a.PolicyDomain, a.Submitter, a.Report.ReportID)
	w("Date: %s", date.Format(time.RFC1123Z))
	w("Message-ID: <%s>", id)
	w("TLS-Report-Domain: %s", a.PolicyDomain)
	w("TLS-Report-Submitter: %s", a.Submitter)
	w("MIME-Version: 1.0")
	w("Content-Type: multipart/report; report-type=\"tlsrpt\"; boundary=\"%s\"", boundary)
	w("")
	w("This is a multipart message in MIME format.")
	w("")
	w("--%s", boundary)
	w("Content-Type: text/plain; charset=us-ascii")
	w("Content-Transfer-Encoding: 7bit")
	w("")
	w("This is an aggregate TLS report (RFC 8460) from %s", a.Submitter)
	w("for %s, %s to %s.", a.PolicyDomain,
		a.Report.DateRange.Start.Format(time.RFC3339), a.Report.DateRange.End.Format(time.RFC3339))
	w("")
	w("--%s", boundary)
	w("Content-Type: application/tlsrpt+gzip")
	w("Content-Transfer-Encoding: base64")
	w("Content-Disposition: %s", mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename()}))
	w("")
	enc := base64.StdEncoding.EncodeToString(gz)
	for len(enc) > 76 {
		w("%s", enc[:76])
		enc = enc[76:]
	}
	w("%s", enc)
	w("")
	w("--%s--", boundary)
	return b.Bytes(), nil
}

// checkAddress accepts one bare address (no display name), such as Record.Mailto holds.
func checkAddress(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return fmt.Errorf("%q is not a bare address", bounded(s, 100))
	}
	return nil
}

// randomToken returns 16 random bytes in hex, for message ids and boundaries.
func randomToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24)
	return hex.EncodeToString(b[:])
}
