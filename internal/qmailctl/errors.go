package qmailctl

import (
	"errors"
	"fmt"
)

// ErrHome means the qmail home directory is missing, is not a directory or
// cannot be searched. qmail-remote reports it as
// "ZUnable to switch to home directory. (#4.3.0)\n".
var ErrHome = errors.New("qmailctl: unable to switch to home directory")

// ErrControl means a control file could not be read or holds a line this
// package refuses, or neither me nor helohost exists. qmail-remote reports it as
// "ZUnable to read control files. (#4.3.0)\n". Every *FileError wraps it.
var ErrControl = errors.New("qmailctl: unable to read control files")

// FileError says which control file failed and why. File is the name inside
// the control directory ("smtproutes"); Line is the 1-based line number for
// content errors and 0 for errors about the whole file; Reason is a short
// lower-case text; Err is the underlying cause (an *fs.PathError, ...) or nil.
// errors.Is(e, ErrControl) is always true, and errors.Is/As also reach Err.
type FileError struct {
	File   string
	Line   int
	Reason string
	Err    error
}

// Error formats the failure as "qmailctl: control/FILE:LINE: REASON: ERR",
// leaving out the parts that are empty.
func (e *FileError) Error() string {
	s := "qmailctl: control/" + e.File
	if e.Line > 0 {
		s += fmt.Sprintf(":%d", e.Line)
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns ErrControl and, when set, the underlying cause.
func (e *FileError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrControl}
	}
	return []error{ErrControl, e.Err}
}

// ErrDomainIP means the control/domainips line that applies to the sender
// holds a source address that cannot be used. It is returned at lookup
// time, not by Load, because the reference program reports it only for
// mail that line applies to, as "ZInvalid ipaddr in control/domainips
// (#4.3.0)\n" (no period before the code).
var ErrDomainIP = errors.New("qmailctl: invalid ipaddr in control/domainips")
