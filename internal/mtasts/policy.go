package mtasts

import (
	"fmt"
	"github.com/mxout/mxout/internal/txtext"
	"strconv"
	"strings"
	"time"
)

const (
	// MaxPolicySize bounds a policy body (RFC 8461 §3.3: senders may refuse bodies over
	// 64 KiB); the fetch reads no more than this, and ParsePolicy refuses longer input.
	MaxPolicySize = 64 << 10
	// MaxMaxAge is the largest max_age a policy may give, about one year (RFC 8461 §3.2).
	MaxMaxAge = 31557600 * time.Second
)

// Mode is a policy's mode (RFC 8461 §5). Modes are ordered by what they demand: ModeNone <
// ModeTesting < ModeEnforce; the zero value is ModeNone, the weakest.
type Mode int

// The modes.
const (
	ModeNone    Mode = iota // the domain withdraws its policy: no constraint, nothing to report
	ModeTesting             // deliver as usual; report what would have failed (TLS-RPT)
	ModeEnforce             // only matching MX hosts, only over TLS verified by CA and name
)

var modeNames = [...]string{ModeNone: "none", ModeTesting: "testing", ModeEnforce: "enforce"}

// String returns the mode as a policy writes it: "none", "testing" or "enforce".
func (m Mode) String() string {
	if m < 0 || int(m) >= len(modeNames) {
		return "Mode(" + strconv.Itoa(int(m)) + ")"
	}
	return modeNames[m]
}

// Policy is one parsed MTA-STS policy (RFC 8461 §3.2). It is read-only once parsed and safe
// for concurrent use.
type Policy struct {
	Mode   Mode
	MaxAge time.Duration // how long the policy may be cached, 0 to MaxMaxAge
	// MX are the patterns of allowed MX hosts, lower case, in the policy's order: a host name,
	// or "*." and a domain for any host exactly one label below it. Empty only in ModeNone.
	MX []string

	text string // the body as served, for the cache and TLS-RPT's policy-string
}

// Text returns the policy as it was served, byte for byte.
func (p *Policy) Text() string { return p.text }

// Lines returns the policy's lines without their line ends and without trailing empty lines:
// the "policy-string" of a TLS-RPT report (RFC 8460 §4.4).
func (p *Policy) Lines() []string {
	lines := strings.Split(strings.ReplaceAll(p.text, "\r\n", "\n"), "\n")
	for len(lines) > 0 && strings.TrimRight(lines[len(lines)-1], " \t") == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// ParsePolicy parses a policy body strictly, following the ABNF of RFC 8461 §3.2:
//
//   - lines end in LF or CRLF; a field is "name:" then optional blanks then the value, and
//     blanks may follow the value; no blank may come before the name, and no empty line may
//     come between fields. Empty or blank lines at the end are accepted: the ABNF allows one
//     final line end, and a second one harms nothing (the only leniency);
//   - "version: STSv1", "mode" and "max_age" must each appear exactly once; names and values
//     are case-sensitive (the ABNF's %s);
//   - "mode" is "enforce", "testing" or "none"; "max_age" is 1 to 10 digits and at most
//     31557600 (a larger value is refused, not clamped: the publisher broke the rule that
//     bounds how long a stale policy can bind senders);
//   - "mx" appears once or more, each a host name or "*." and a domain; a "none" policy may
//     have none (it lifts every constraint);
//   - other fields are extensions: their syntax is checked and they are ignored, repeated or
//     not (RFC 8461 §3.2: unknown fields are ignored).
//
// Errors wrap ErrPolicySyntax and say which line failed.
func ParsePolicy(body []byte) (*Policy, error) {
	if len(body) > MaxPolicySize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrPolicySyntax, len(body), MaxPolicySize)
	}
	text := string(body)
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for len(lines) > 0 && strings.TrimRight(lines[len(lines)-1], " \t") == "" {
		lines = lines[:len(lines)-1]
	}
	p := &Policy{text: text}
	seen := map[string]bool{}
	for i, line := range lines {
		if err := p.field(line, seen); err != nil {
			return nil, fmt.Errorf("%w: line %d %q: %s", ErrPolicySyntax, i+1, bounded(line), err)
		}
	}
	for _, name := range []string{"version", "mode", "max_age"} {
		if !seen[name] {
			return nil, fmt.Errorf("%w: no %s", ErrPolicySyntax, name)
		}
	}
	if p.Mode != ModeNone && len(p.MX) == 0 {
		return nil, fmt.Errorf("%w: mode %s without mx", ErrPolicySyntax, p.Mode)
	}
	return p, nil
}

// field applies one line to p. seen tracks the fields that may appear once.
func (p *Policy) field(line string, seen map[string]bool) error {
	name, value, ok := strings.Cut(line, ":")
	if !ok {
		return fmt.Errorf("no ':'")
	}
	value = strings.Trim(value, " \t")
	if value == "" {
		return fmt.Errorf("empty value")
	}
	if strings.ContainsRune(value, '\r') {
		return fmt.Errorf("stray carriage return")
	}
	if name == "version" || name == "mode" || name == "max_age" {
		if seen[name] {
			return fmt.Errorf("%s given twice", name)
		}
		seen[name] = true
	}
	switch name {
	case "version":
		if value != "STSv1" {
			return fmt.Errorf("unknown version")
		}
	case "mode":
		m, ok := parseMode(value)
		if !ok {
			return fmt.Errorf("unknown mode")
		}
		p.Mode = m
	case "max_age":
		d, ok := parseMaxAge(value)
		if !ok {
			return fmt.Errorf("max_age must be 0 to %d seconds", int64(MaxMaxAge/time.Second))
		}
		p.MaxAge = d
	case "mx":
		if !validPattern(value) {
			return fmt.Errorf("bad mx pattern")
		}
		p.MX = append(p.MX, strings.ToLower(value))
	default:
		if !txtext.Name(name) || !validPolicyExtValue(value) {
			return fmt.Errorf("bad extension field")
		}
	}
	return nil
}

func parseMode(s string) (Mode, bool) {
	for m, name := range modeNames {
		if s == name {
			return Mode(m), true
		}
	}
	return ModeNone, false
}

// parseMaxAge reads 1*10(DIGIT) seconds, at most MaxMaxAge.
func parseMaxAge(s string) (time.Duration, bool) {
	if len(s) == 0 || len(s) > 10 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > int64(MaxMaxAge/time.Second) {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// validPattern: ["*."] followed by a domain of letters, digits and hyphens (RFC 8461 §3.2,
// sts-policy-mx-value). A pattern as wide as "*.com" is valid: the ABNF allows it, and
// refusing it would refuse the whole policy, which protects less than a wide pattern.
func validPattern(s string) bool {
	domain, _ := strings.CutPrefix(s, "*.")
	return validHostName(domain)
}

// validHostName: labels of 1 to 63 letters, digits and hyphens, not starting or ending with a
// hyphen, at most 253 characters.
func validHostName(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if !txtext.Alnum(label[i]) && label[i] != '-' {
				return false
			}
		}
	}
	return true
}

// validPolicyExtValue: visible characters with single blanks inside (RFC 8461 §3.2,
// sts-policy-ext-value); the caller trimmed the ends.
func validPolicyExtValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x21 || c > 0x7e) && c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}
