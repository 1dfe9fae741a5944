package report

import (
	"crypto/tls"
	"encoding/json"
	"strings"

	"github.com/mxout/mxout/internal/outcome"
	"github.com/mxout/mxout/internal/tlspolicy"
)

// StatusLines renders a message's Outcomes as the status lines of mxout deliver and mxout
// transport (docs/commands.md): one line per recipient, in order,
//
//	ID<TAB>RECIPIENT<TAB>STATUS<TAB>DSN<TAB>TEXT
//
// id is the job's id ("-" for mxout deliver). Tabs and line breaks inside a field become
// spaces, so that every line splits into exactly five fields.
func StatusLines(id string, m *outcome.Message) []byte {
	var b strings.Builder
	for i := range m.Recipients {
		r := &m.Recipients[i]
		b.WriteString(outcome.OneLine(id))
		b.WriteByte('\t')
		b.WriteString(outcome.OneLine(r.Address))
		b.WriteByte('\t')
		b.WriteString(r.Status.String())
		b.WriteByte('\t')
		b.WriteString(r.DSN)
		b.WriteByte('\t')
		b.WriteString(r.Describe())
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// jsonMessage is the JSON object of one job (docs/commands.md). Fields unknown for an outcome
// are omitted, never invented.
type jsonMessage struct {
	ID         string          `json:"id"`
	Status     string          `json:"status"`
	Host       string          `json:"host,omitempty"`
	Peer       string          `json:"peer,omitempty"`
	Protocol   string          `json:"protocol,omitempty"`
	TLS        *jsonTLS        `json:"tls"`
	Recipients []jsonRecipient `json:"recipients"`
	ElapsedMS  int64           `json:"elapsed_ms"`
}

type jsonTLS struct {
	Version  string `json:"version,omitempty"`
	Cipher   string `json:"cipher,omitempty"`
	Verified string `json:"verified"`
	Policy   string `json:"policy,omitempty"`
}

type jsonRecipient struct {
	Address       string `json:"address"`
	Status        string `json:"status"`
	Code          int    `json:"code,omitempty"`
	DSN           string `json:"dsn,omitempty"`
	Text          string `json:"text,omitempty"`
	DuplicateRisk bool   `json:"duplicate_risk"`
}

// JSON renders a message's Outcomes as one JSON object on one line, ended by a newline.
func JSON(id string, m *outcome.Message) []byte {
	s := m.Session()
	out := jsonMessage{
		ID: id, Status: m.Status(), Host: s.Host, Protocol: s.Protocol,
		TLS: tlsJSON(s.TLS), ElapsedMS: m.Elapsed.Milliseconds(),
		Recipients: make([]jsonRecipient, len(m.Recipients)),
	}
	if s.Peer.IsValid() {
		out.Peer = s.Peer.String()
	}
	for i := range m.Recipients {
		r := &m.Recipients[i]
		out.Recipients[i] = jsonRecipient{
			Address: r.Address, Status: r.Status.String(), Code: r.Code(), DSN: r.DSN,
			Text: r.Describe(), DuplicateRisk: r.DuplicateRisk,
		}
	}
	b, err := json.Marshal(out)
	if err != nil { // cannot happen for these types; say so rather than print nothing
		b = []byte(`{"id":` + quoteJSON(id) + `,"status":"deferred","error":"json"}`)
	}
	return append(b, '\n')
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// tlsJSON names the TLS facts as the contract does ("TLS1.3", "ca+name", "dane-ee"); nil in
// clear.
func tlsJSON(f *tlspolicy.Facts) *jsonTLS {
	if f == nil {
		return nil
	}
	v := f.Verified.String()
	if f.Verified == tlspolicy.VerifiedCANameExact {
		v = "ca+name" // the contract's levels do not tell exact from wildcard name matches
	}
	return &jsonTLS{Version: versionJSON(f.Version), Cipher: f.CipherName(), Verified: v, Policy: f.Policy}
}

func versionJSON(v uint16) string {
	switch v {
	case 0:
		return ""
	case tls.VersionTLS10:
		return "TLS1.0"
	case tls.VersionTLS11:
		return "TLS1.1"
	case tls.VersionTLS12:
		return "TLS1.2"
	case tls.VersionTLS13:
		return "TLS1.3"
	}
	return tls.VersionName(v)
}

// Exit codes of mxout deliver (sysexits.h, as Postfix's pipe(8) and Exim read them).
const (
	ExitOK          = 0
	ExitUsage       = 64 // EX_USAGE: bad usage
	ExitDataErr     = 65 // EX_DATAERR: message unreadable or malformed for the channel
	ExitNoUser      = 67 // EX_NOUSER: every undelivered recipient unknown (5.1.x)
	ExitUnavailable = 69 // EX_UNAVAILABLE: every undelivered recipient failed permanently
	ExitTempFail    = 75 // EX_TEMPFAIL: try again later (or possible duplicate)
	ExitConfig      = 78 // EX_CONFIG: local configuration error
)

// Exit is mxout deliver's exit status for a message: 0 when every recipient was delivered;
// 75 when any recipient may succeed later (a possible duplicate included); otherwise
// permanent: 67 when every undelivered recipient failed with a 5.1.x code, else 69. A local
// configuration failure is 78, a message the channel cannot carry 65.
func Exit(m *outcome.Message) int {
	delivered, nouser, permanent := 0, 0, 0
	for i := range m.Recipients {
		r := &m.Recipients[i]
		switch r.Status {
		case outcome.Delivered:
			delivered++
			continue
		case outcome.Failed:
			permanent++
			if outcome.UserUnknown(r.DSN) {
				nouser++
			}
			continue
		}
		if r.DSN == "4.3.5" {
			return ExitConfig
		}
		return ExitTempFail
	}
	switch {
	case delivered == len(m.Recipients):
		return ExitOK
	case dataError(m):
		return ExitDataErr
	case nouser == permanent:
		return ExitNoUser
	}
	return ExitUnavailable
}

// dataError reports a message refused here because the channel cannot carry it: a partial
// final line, 8-bit headers for a 7-bit server, non-ASCII addresses without SMTPUTF8.
func dataError(m *outcome.Message) bool {
	for i := range m.Recipients {
		switch m.Recipients[i].DSN {
		case "5.6.2", "5.6.3", "5.6.7":
			if m.Recipients[i].Reply == nil {
				return true
			}
		}
	}
	return false
}

// Diagnostic is the one line mxout deliver writes to stderr when a message was not delivered to
// every recipient: the enhanced code first, as Postfix's pipe(8) reads it, then what happened
// to the first recipient that was not delivered. Empty when all were delivered.
func Diagnostic(m *outcome.Message) string {
	var worst *outcome.Recipient
	for i := range m.Recipients {
		r := &m.Recipients[i]
		if r.Status == outcome.Delivered {
			continue
		}
		if worst == nil || r.Status == outcome.Deferred && worst.Status != outcome.Deferred {
			worst = r // the exit status is temporary when any is: say why
		}
	}
	if worst == nil {
		return ""
	}
	return worst.DSN + " " + outcome.OneLine(worst.Address) + ": " + worst.Describe() + "\n"
}
