package smtptest

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Limits on what a script may ask for, so a typo cannot exhaust memory.
const (
	maxBig  = 64 << 20  // ! big, ! read: bytes
	maxMany = 1_000_000 // ! many: lines
)

// opKind is what one directive does.
type opKind int

const (
	opWrite     opKind = iota // < and <raw: write payload
	opExpect                  // > text
	opMatch                   // >~ regexp
	opAny                     // > *
	opData                    // ! data
	opRead                    // ! read N
	opClose                   // ! close
	opStall                   // ! stall
	opExpectEOF               // ! expect-eof
	opEOFOrQuit               // ! eof-or-quit
	opSleep                   // ! sleep D
	opDrip                    // ! drip D
	opBig                     // ! big N prefix
	opMany                    // ! many N prefix
	opTLS                     // ! starttls, ! tls
	opReset                   // ! reset
)

// isWrite reports whether the directive writes to the client.
func (k opKind) isWrite() bool { return k == opWrite || k == opBig || k == opMany }

// isFinal reports whether nothing can follow the directive.
func (k opKind) isFinal() bool {
	return k == opClose || k == opStall || k == opEOFOrQuit || k == opReset
}

// isRead reports whether the directive reads one client line.
func (k opKind) isRead() bool { return k == opExpect || k == opMatch || k == opAny }

// step is one parsed directive.
type step struct {
	line    int    // 1-based line number in the script text
	src     string // the directive as written, trimmed
	kind    opKind
	payload []byte         // opWrite: bytes to write
	text    string         // opExpect: the line; opBig, opMany: the prefix
	re      *regexp.Regexp // opMatch
	n       int            // opRead, opBig, opMany
	d       time.Duration  // opSleep, opDrip
}

// parseScript turns a script into its directives. Its errors name the line
// and lack the package prefix, which the caller adds. It fails on an unknown or
// malformed directive, on an empty script, on "! tls" anywhere but first, and
// on directives after "! close", "! stall", "! eof-or-quit" or "! reset" (they
// could never run).
func parseScript(src string) ([]step, error) {
	var steps []step
	for i, raw := range strings.Split(src, "\n") {
		s := strings.TrimSpace(raw)
		if s == "" || s[0] == '#' {
			continue
		}
		st, err := parseLine(s)
		if err != nil {
			return nil, fmt.Errorf("line %d (%s): %w", i+1, s, err)
		}
		st.line, st.src = i+1, s
		if st.src == "! tls" && len(steps) > 0 {
			return nil, fmt.Errorf("line %d: ! tls must be the first directive (use ! starttls after a 220)", i+1)
		}
		if n := len(steps); n > 0 && steps[n-1].kind.isFinal() {
			return nil, fmt.Errorf("line %d: nothing can run after %s", i+1, steps[n-1].src)
		}
		steps = append(steps, st)
	}
	if len(steps) == 0 {
		return nil, errors.New("no directives")
	}
	return steps, nil
}

// parseLine parses one trimmed, non-empty, non-comment line.
func parseLine(s string) (step, error) {
	switch s[0] {
	case '<':
		return parseWrite(s[1:])
	case '>':
		return parseRead(s[1:])
	case '!':
		return parseFault(strings.TrimSpace(s[1:]))
	}
	return step{}, errors.New("a directive starts with <, > or !")
}

// parseWrite parses what follows "<".
func parseWrite(rest string) (step, error) {
	if r, ok := strings.CutPrefix(rest, "raw"); ok && (r == "" || isBlank(r[0])) {
		b, err := unescape(strings.TrimLeft(r, " \t"))
		if err != nil {
			return step{}, err
		}
		return step{kind: opWrite, payload: b}, nil
	}
	if rest != "" && !isBlank(rest[0]) {
		return step{}, errors.New("want a blank after < (or <raw)")
	}
	text := strings.TrimLeft(rest, " \t")
	return step{kind: opWrite, payload: []byte(text + "\r\n")}, nil
}

// parseRead parses what follows ">".
func parseRead(rest string) (step, error) {
	if r, ok := strings.CutPrefix(rest, "~"); ok {
		expr := strings.TrimLeft(r, " \t")
		if expr == "" || expr == r {
			return step{}, errors.New("want a blank and a regexp after >~")
		}
		re, err := regexp.Compile(`^(?:` + expr + `)$`)
		if err != nil {
			return step{}, err
		}
		return step{kind: opMatch, re: re}, nil
	}
	if rest != "" && !isBlank(rest[0]) {
		return step{}, errors.New("want a blank after > (or >~)")
	}
	text := strings.TrimLeft(rest, " \t")
	if text == "*" {
		return step{kind: opAny}, nil
	}
	return step{kind: opExpect, text: text}, nil
}

// parseFault parses what follows "!".
func parseFault(s string) (step, error) {
	name, arg := cutWord(s)
	simple := map[string]opKind{
		"data": opData, "close": opClose, "stall": opStall, "expect-eof": opExpectEOF,
		"eof-or-quit": opEOFOrQuit, "starttls": opTLS, "tls": opTLS, "reset": opReset,
	}
	if k, ok := simple[name]; ok {
		if arg != "" {
			return step{}, fmt.Errorf("! %s takes no argument", name)
		}
		return step{kind: k}, nil
	}
	switch name {
	case "sleep", "drip":
		d, err := time.ParseDuration(arg)
		if err != nil || d < 0 {
			return step{}, fmt.Errorf("! %s wants a duration such as 150ms", name)
		}
		k := opSleep
		if name == "drip" {
			k = opDrip
		}
		return step{kind: k, d: d}, nil
	case "read", "big", "many":
		return parseCount(name, arg)
	}
	return step{}, fmt.Errorf("unknown directive ! %s", name)
}

// parseCount parses the arguments of "! read N", "! big N prefix" and
// "! many N prefix".
func parseCount(name, arg string) (step, error) {
	num, prefix := cutWord(arg)
	n, err := strconv.Atoi(num)
	limit := maxBig
	if name == "many" {
		limit = maxMany
	}
	if err != nil || n < 1 || n > limit {
		return step{}, fmt.Errorf("! %s wants a count from 1 to %d", name, limit)
	}
	switch name {
	case "read":
		if prefix != "" {
			return step{}, errors.New("! read takes only a count")
		}
		return step{kind: opRead, n: n}, nil
	case "big":
		if n < len(prefix)+2 {
			return step{}, fmt.Errorf("! big %d is shorter than its prefix and CRLF", n)
		}
		return step{kind: opBig, n: n, text: prefix}, nil
	}
	return step{kind: opMany, n: n, text: prefix}, nil
}

// cutWord splits s at its first run of blanks.
func cutWord(s string) (word, rest string) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeft(s[i:], " \t")
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// unescape decodes the escapes of a <raw line: \r, \n, \t, \\ and \xHH.
// Any other backslash sequence is an error, so a typo cannot go out unnoticed.
func unescape(s string) ([]byte, error) {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b = append(b, s[i])
			continue
		}
		if i+1 >= len(s) {
			return nil, errors.New("lone backslash at the end of <raw")
		}
		i++
		switch s[i] {
		case 'r':
			b = append(b, '\r')
		case 'n':
			b = append(b, '\n')
		case 't':
			b = append(b, '\t')
		case '\\':
			b = append(b, '\\')
		case 'x':
			if i+3 > len(s) {
				return nil, errors.New(`\x wants two hex digits`)
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return nil, errors.New(`\x wants two hex digits`)
			}
			b = append(b, byte(v))
			i += 2
		default:
			return nil, fmt.Errorf(`unknown escape \%c in <raw`, s[i])
		}
	}
	return b, nil
}
