package mtasts

import (
	"fmt"
	"github.com/mxout/mxout/internal/txtext"
	"strings"
)

// recordVersion starts every MTA-STS TXT record (RFC 8461 §3.1).
const recordVersion = "v=STSv1"

// maxIDLen is the longest policy id (RFC 8461 §3.1: 1*32(ALPHA / DIGIT)).
const maxIDLen = 32

// Record is the TXT record at _mta-sts.<domain> (RFC 8461 §3.1). Only the id means anything:
// a changed id tells senders that the policy changed. Extension fields are checked for syntax
// and dropped.
type Record struct {
	ID string
}

// SelectRecord picks the MTA-STS record out of all the TXT records of _mta-sts.<domain>
// (RFC 8461 §3.1): records that do not start with "v=STSv1" are discarded; none left is
// ErrNoRecord, more than one is ErrMultipleRecords, and the one left must parse.
func SelectRecord(txts []string) (Record, error) {
	var found []string
	for _, t := range txts {
		if isSTSRecord(t) {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return Record{}, ErrNoRecord
	case 1:
		return ParseRecord(found[0])
	}
	return Record{}, fmt.Errorf("%w (%d)", ErrMultipleRecords, len(found))
}

// isSTSRecord reports whether t claims to be an MTA-STS record: "v=STSv1" followed by the
// field delimiter (optional blanks, then ";") or nothing. "v=STSv10" is another version.
func isSTSRecord(t string) bool {
	rest, ok := strings.CutPrefix(t, recordVersion)
	if !ok {
		return false
	}
	rest = strings.TrimLeft(rest, " \t")
	return rest == "" || rest[0] == ';'
}

// ParseRecord parses one MTA-STS TXT record strictly, following the ABNF of RFC 8461 §3.1:
// "v=STSv1" first, fields separated by ";" with optional blanks around it, one optional
// trailing ";", exactly one "id" of 1 to 32 letters and digits, extensions well-formed. Field
// names and the version are case-sensitive (the ABNF's %s). Errors wrap ErrRecordSyntax.
func ParseRecord(t string) (Record, error) {
	rest, ok := strings.CutPrefix(t, recordVersion)
	if !ok {
		return Record{}, recordError(t, "does not start with "+recordVersion)
	}
	fields := strings.Split(rest, ";")
	if len(fields) < 2 || strings.Trim(fields[0], " \t") != "" {
		return Record{}, recordError(t, "no field after the version")
	}
	fields = fields[1:]
	if last := len(fields) - 1; strings.Trim(fields[last], " \t") == "" && last > 0 {
		fields = fields[:last] // one trailing delimiter
	}
	var rec Record
	for _, f := range fields {
		f = strings.Trim(f, " \t")
		name, value, ok := strings.Cut(f, "=")
		switch {
		case !ok:
			return Record{}, recordError(t, fmt.Sprintf("field %q has no '='", f))
		case name == "id":
			if rec.ID != "" {
				return Record{}, recordError(t, "more than one id")
			}
			if !validID(value) {
				return Record{}, recordError(t, fmt.Sprintf("bad id %q", value))
			}
			rec.ID = value
		case !txtext.Name(name) || !txtext.Value(value):
			return Record{}, recordError(t, fmt.Sprintf("bad field %q", f))
		}
	}
	if rec.ID == "" {
		return Record{}, recordError(t, "no id")
	}
	return rec, nil
}

func recordError(t, why string) error {
	return fmt.Errorf("%w %q: %s", ErrRecordSyntax, bounded(t), why)
}

// bounded shortens s for an error message, so that a hostile record cannot blow up logs.
func bounded(s string) string {
	const limit = 100
	if len(s) > limit {
		return s[:limit] + "..."
	}
	return s
}

func validID(s string) bool {
	if len(s) == 0 || len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !txtext.Alnum(s[i]) {
			return false
		}
	}
	return true
}
