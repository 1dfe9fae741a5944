// Package transport is mxout transport's front end: JSON-lines jobs on standard input, run on
// the delivery engine over kept sessions, one status line (or JSON object) per job on standard
// output as each finishes (docs/commands.md).
package transport

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mxout/mxout/internal/smtp"
)

// MaxJobLine bounds one job line. A line this long is refused (the job gets an error status)
// and skipped to its end, never buffered whole: a queue manager gone wrong cannot make the
// process grow.
const MaxJobLine = 1 << 20

// Job is one message to deliver, as a job line gives it.
type Job struct {
	ID         string   `json:"id"`
	Sender     string   `json:"sender"`
	Recipients []string `json:"recipients"`
	File       string   `json:"file"`
	// Host overrides the destination for this job, as -d does for all.
	Host string `json:"host,omitempty"`
	// DSN (RFC 3461): RET=FULL|HDRS and ENVID for the message; NOTIFY for every recipient
	// (NEVER, or a comma-separated list of SUCCESS, FAILURE, DELAY); ORCPT per recipient, in
	// the order of Recipients (an "addr-type;address" string each, or "" for none).
	Ret    string   `json:"ret,omitempty"`
	EnvID  string   `json:"envid,omitempty"`
	Notify string   `json:"notify,omitempty"`
	ORcpt  []string `json:"orcpt,omitempty"`
	// RequireTLS asks for REQUIRETLS (RFC 8689) for this message.
	RequireTLS bool `json:"requiretls,omitempty"`
}

// BadJob is a job line that cannot be run. ID is the job's id when the line held a readable
// one, else "-"; Line is the line's number, from 1.
type BadJob struct {
	ID     string
	Line   int
	Reason string
}

func (e *BadJob) Error() string {
	return fmt.Sprintf("malformed job on line %d: %s", e.Line, e.Reason)
}

// Reader reads job lines. Blank lines are skipped.
type Reader struct {
	br   *bufio.Reader
	line int
}

// NewReader reads jobs from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10)}
}

// Next returns the next job. A line that is not a valid job gives a *BadJob error and the
// reader moves on to the next line; io.EOF ends the input.
func (r *Reader) Next() (*Job, error) {
	for {
		line, err := r.readLine()
		if err != nil {
			return nil, err
		}
		r.line++
		if line == nil { // over-long
			return nil, &BadJob{ID: "-", Line: r.line, Reason: fmt.Sprintf("line longer than %d bytes", MaxJobLine)}
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		return ParseJob(line, r.line)
	}
}

// readLine returns one line without its end, or nil (and no error) for a line over MaxJobLine,
// which is consumed to its end. A last line without a newline counts.
func (r *Reader) readLine() ([]byte, error) {
	var buf []byte
	tooLong := false
	for {
		frag, err := r.br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(frag) > MaxJobLine+1 {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, frag...)
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && (len(buf) > 0 || tooLong):
		default:
			return nil, err
		}
		if tooLong {
			return nil, nil
		}
		return bytes.TrimRight(buf, "\r\n"), nil
	}
}

// ParseJob parses one job line (n is its line number for errors). Unknown fields are refused,
// so that a misspelt option is never silently ignored.
func ParseJob(line []byte, n int) (*Job, error) {
	var j Job
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return nil, &BadJob{ID: idOf(line), Line: n, Reason: jsonReason(err)}
	}
	if dec.More() {
		return nil, &BadJob{ID: idOf(line), Line: n, Reason: "more than one JSON value on the line"}
	}
	id := j.ID
	if id == "" {
		id = "-"
	}
	bad := func(why string) error { return &BadJob{ID: id, Line: n, Reason: why} }
	switch {
	case j.ID == "":
		return nil, bad(`no "id"`)
	case len(j.Recipients) == 0:
		return nil, bad(`no "recipients"`)
	case j.File == "":
		return nil, bad(`no "file"`)
	case j.Ret != "" && !strings.EqualFold(j.Ret, "FULL") && !strings.EqualFold(j.Ret, "HDRS"):
		return nil, bad(`"ret" must be FULL or HDRS`)
	case j.ORcpt != nil && len(j.ORcpt) != len(j.Recipients):
		return nil, bad(`"orcpt" must have one entry per recipient`)
	}
	if err := checkNotify(j.Notify); err != nil {
		return nil, bad(err.Error())
	}
	if err := (smtp.DSN{Ret: j.Ret, EnvID: j.EnvID, Notify: j.Notify, ORcpt: j.ORcpt}).Check(); err != nil {
		return nil, bad(strings.TrimPrefix(err.Error(), "smtp: invalid DSN parameter: "))
	}
	if strings.Trim(j.Sender, "<>") == "" {
		j.Sender = "" // "<>" is the null sender, as with -f
	}
	return &j, nil
}

// checkNotify accepts NEVER alone or a list of SUCCESS, FAILURE and DELAY (RFC 3461 §4.1).
func checkNotify(s string) error {
	if s == "" {
		return nil
	}
	if strings.EqualFold(s, "NEVER") {
		return nil
	}
	for _, v := range strings.Split(s, ",") {
		switch strings.ToUpper(strings.TrimSpace(v)) {
		case "SUCCESS", "FAILURE", "DELAY":
		default:
			return fmt.Errorf(`"notify" must be NEVER or a list of SUCCESS, FAILURE, DELAY, not %q`, s)
		}
	}
	return nil
}

// idOf fishes the id out of a line that is not a valid job, so the error can name it.
func idOf(line []byte) string {
	var probe struct {
		ID string `json:"id"`
	}
	if json.NewDecoder(bytes.NewReader(line)).Decode(&probe) == nil && probe.ID != "" {
		return probe.ID
	}
	return "-"
}

// jsonReason turns a decoding error into a short reason without Go type names.
func jsonReason(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("not JSON (at byte %d)", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("%q has the wrong type", te.Field)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "not a complete JSON object"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
