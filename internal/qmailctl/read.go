package qmailctl

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mxout/mxout/internal/idn"
)

// maxFileSize bounds what is read from one control file. Control files are
// small; a larger one is refused rather than read into memory.
const maxFileSize = 16 << 20

// line is one kept line of a multi-line control file.
type line struct {
	n    int    // 1-based line number in the file
	text string // trailing space and tab removed
}

// readFile returns the content of control/name. present is false (and err
// nil) only when the file does not exist (ENOENT); every other failure,
// including a path that is a directory, is a *FileError.
func readFile(dir, name string) (data []byte, present bool, err error) {
	f, err := os.Open(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, &FileError{File: name, Reason: "cannot open", Err: err}
	}
	defer f.Close()
	data, err = io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, false, &FileError{File: name, Reason: "cannot read", Err: err}
	}
	if len(data) > maxFileSize {
		return nil, false, &FileError{File: name, Reason: "file too large"}
	}
	return data, true, nil
}

// trimTrailing removes trailing spaces and tabs (control.c keeps CR).
func trimTrailing(s string) string {
	return strings.TrimRight(s, " \t")
}

// firstLine is control_readline: the first line of data without its
// newline and trailing blanks.
func firstLine(data []byte) string {
	s := string(data)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return trimTrailing(s)
}

// splitLines is control_readfile: every line without its newline and
// trailing blanks; empty lines and lines whose first byte is '#' are
// dropped; leading blanks are kept; a last line without newline counts.
func splitLines(data []byte) []line {
	var out []line
	s := string(data)
	for n := 1; len(s) > 0; n++ {
		var l string
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			l, s = s[:i], s[i+1:]
		} else {
			l, s = s, ""
		}
		l = trimTrailing(l)
		if l == "" || l[0] == '#' {
			continue
		}
		out = append(out, line{n: n, text: l})
	}
	return out
}

// readLines reads control/name as a multi-line file; an absent file gives
// no lines.
func readLines(dir, name string) ([]line, error) {
	data, _, err := readFile(dir, name)
	if err != nil {
		return nil, err
	}
	return splitLines(data), nil
}

// asciiLower lowers A-Z only, as qmail's case_diffb compares.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// hostKey is the form in which a host-name table key (smtproutes, tlsdestinations) is stored:
// A-labels (RFC 5891 §5, the profile of internal/idn), a leading '.' kept, ASCII lower case.
// Lookups pass names in A-labels (deliver converts the destination once), so a key written in
// Unicode and one written in A-labels both match. A key IDNA refuses is kept as written and
// matches only the same bytes, as before conversion existed.
func hostKey(key string) string {
	dot, host := "", key
	if rest, ok := strings.CutPrefix(key, "."); ok {
		dot, host = ".", rest
	}
	return asciiLower(dot + idn.Host(host))
}

// suffixKeys returns the keys of qmail's domain suffix search for name:
// "a.b.test", ".b.test", ".test" and, when withEmpty, "" last.
func suffixKeys(name string, withEmpty bool) []string {
	keys := make([]string, 0, 4)
	for i := 0; i < len(name); i++ {
		if i == 0 || name[i] == '.' {
			keys = append(keys, name[i:])
		}
	}
	if withEmpty {
		keys = append(keys, "")
	}
	return keys
}

// splitKey splits a table line at its first ':' (constmap with flagcolon);
// ok is false for a line without ':', which qmail ignores.
func splitKey(s string) (key, value string, ok bool) {
	return strings.Cut(s, ":")
}
