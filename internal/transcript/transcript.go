package transcript

import (
	"bytes"
	"encoding/base64"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// maxLine is the longest line written, pid and newline included: PIPE_BUF on Linux (and the
// POSIX minimum is 512), so one write(2) of a line is atomic even when FILE is a pipe or FIFO.
// On a regular file opened O_APPEND each write(2) lands whole anyway; the cap makes pipes safe
// too. SMTP lines are at most 512 octets (RFC 5321 §4.5.3.1.4-5), so only broken peers are cut.
const maxLine = 4096

// maxPartial bounds an unfinished line collected by Write: a producer that never writes a
// newline cannot grow the buffer without end; what is held is written as a line.
const maxPartial = 64 << 10

// The markers after the pid: what the client sent, what the server said, and notes that are
// neither (Note, and io.Writer lines without "C: " or "S: ").
const (
	dirClient = '>'
	dirServer = '<'
	dirNote   = '*'
)

// hidden replaces every redacted text.
const hidden = "***"

// Options configure a Writer. The zero value is usable.
type Options struct {
	// PID is the process id written at the start of every line. Zero means os.Getpid().
	PID int
}

// Writer writes one SMTP session's transcript. It tracks the session's state to redact AUTH
// payloads and to summarise the message text, so concurrent sessions each need their own
// Writer; several Writers, in one or many processes, may share one file. A Writer is safe for
// concurrent use, and every line it writes is one Write call on the underlying writer (one
// write(2) on an *os.File), so lines never interleave. Write errors never reach the SMTP
// session: the first one is kept for Err.
type Writer struct {
	mu      sync.Mutex
	out     io.Writer
	closer  io.Closer // the file Open opened, or nil
	pid     string
	partial []byte // io.Writer input after the last newline
	buf     []byte // the line being built, reused

	auth     bool     // inside an AUTH exchange: client lines are hidden
	secrets  []string // the hidden client payloads of this exchange, to hide in server echoes
	data     bool     // between a 354 and the end of the message text
	msgBytes int64    // message text counted in data mode, CRLF included
	err      error
}

// Open opens path for appending (creating it with mode 0600: a transcript holds addresses) and
// returns a Writer on it with this process's id. Close closes the file.
func Open(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err // *PathError: says what and where
	}
	w := New(f, Options{})
	w.closer = f
	return w, nil
}

// New returns a Writer on out. The caller keeps ownership of out unless it came from Open.
func New(out io.Writer, opt Options) *Writer {
	pid := opt.PID
	if pid == 0 {
		pid = os.Getpid()
	}
	return &Writer{out: out, pid: strconv.Itoa(pid)}
}

// Client records a line the client sent, without its CRLF.
func (w *Writer) Client(line string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.client(line)
}

// Server records one line of a server reply, without its CRLF.
func (w *Writer) Server(line string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.server(line)
}

// Note records an event that is not a protocol line, such as "TLS 1.3 started". Inside an AUTH
// exchange a note is hidden like a client line.
func (w *Writer) Note(text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.note(text)
}

// Message records that n octets of message text went out, as "[message: n bytes]", and ends
// the message text. An SMTP client that knows the size calls it instead of passing the text.
func (w *Writer) Message(n int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.data, w.msgBytes = false, 0
	w.emit(dirClient, messageLine(n))
}

// Write takes the format of smtp.Options.Transcript: lines ending in "\n" (a CR before it is
// dropped), "C: " before what the client sent, "S: " before what the server said, anything else
// a note. A line may come in several calls; an unfinished one waits for its newline, or Close.
// It returns len(p) and the first write error of the underlying writer, if any.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := maxPartial - len(w.partial)
			if len(p) <= room {
				w.partial = append(w.partial, p...)
				break
			}
			w.partial = append(w.partial, p[:room]...)
			p = p[room:]
			w.dispatch()
			continue
		}
		w.partial = append(w.partial, p[:i]...)
		p = p[i+1:]
		w.dispatch()
	}
	return n, w.err
}

// Err returns the first error of the underlying writer.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Close writes an unfinished Write line, closes the file if Open opened it, and returns the
// first error.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.dispatch()
	}
	if w.closer != nil {
		if err := w.closer.Close(); err != nil && w.err == nil {
			w.err = err
		}
		w.closer = nil
	}
	return w.err
}

// dispatch sends the collected Write line to client, server or note.
func (w *Writer) dispatch() {
	line := string(bytes.TrimSuffix(w.partial, []byte("\r")))
	w.partial = w.partial[:0]
	if rest, ok := strings.CutPrefix(line, "C: "); ok {
		w.client(rest)
	} else if rest, ok := strings.CutPrefix(line, "S: "); ok {
		w.server(rest)
	} else {
		w.note(line)
	}
}

func (w *Writer) client(line string) {
	switch {
	case w.auth:
		if line != "*" { // the cancel (RFC 4954 §4) is not a secret and helps reading
			w.remember(line)
			line = hidden
		}
	case w.data:
		if annotation(line) {
			break // the producer's own summary, e.g. internal/smtp's "[message text, then .]"
		}
		if line == "." {
			w.data = false
			line = messageLine(w.msgBytes)
			break
		}
		w.msgBytes += int64(len(line)) + 2
		return
	case len(line) >= 4 && strings.EqualFold(line[:4], "AUTH"):
		w.auth, w.secrets = true, nil
		line = w.authCommand(line)
	}
	w.emit(dirClient, line)
}

// authCommand is the AUTH command as logged: the mechanism name stays when it is one
// (RFC 4422 §3.1: up to 20 of A-Z 0-9 - _), the initial response becomes "***".
func (w *Writer) authCommand(line string) string {
	if len(line) == 4 {
		return line
	}
	if line[4] != ' ' {
		w.remember(line)
		return line[:4] + " " + hidden
	}
	mech, initial, hasInitial := strings.Cut(line[5:], " ")
	if !mechName(mech) {
		w.remember(line[5:])
		return line[:4] + " " + hidden
	}
	if !hasInitial {
		return line
	}
	w.remember(initial)
	return line[:5] + mech + " " + hidden
}

func mechName(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, c := range []byte(s) {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (w *Writer) server(line string) {
	code, final := replyCode(line)
	if w.data { // any reply ends the message text; a size counted in data mode is written first
		w.data = false
		if w.msgBytes > 0 {
			w.emit(dirClient, messageLine(w.msgBytes))
		}
		w.msgBytes = 0
	}
	switch {
	case code == 334:
		// A 334 only ever continues an AUTH exchange (RFC 4954 §4), so it starts one if the
		// AUTH line was missed. The challenges are hidden: some carry nothing secret (LOGIN's
		// prompts, XOAUTH2's error JSON), but SCRAM's carry the salt, and one rule is simpler
		// to trust than a list.
		if !w.auth {
			w.auth, w.secrets = true, nil
		}
		line = line[:3] + string(sepOf(line)) + hidden
	case w.auth:
		line = w.hideEchoes(line)
		if final && code != 0 {
			w.auth, w.secrets = false, nil
		}
	case final && code == 354:
		w.data, w.msgBytes = true, 0
	}
	w.emit(dirServer, line)
}

func (w *Writer) note(text string) {
	if w.auth {
		w.remember(text)
		text = hidden
	}
	w.emit(dirNote, text)
}

// remember keeps a hidden client payload, each of its words, and the parts of their base64
// decoding, so that a server echoing them in an error reply ("535 bad credentials AHRpbQB...")
// does not print them. Parts shorter than 4 octets are not kept: hiding them would blank
// ordinary words.
func (w *Writer) remember(payload string) {
	const minSecret, maxSecrets = 4, 64
	add := func(s string) {
		if len(s) >= minSecret && len(w.secrets) < maxSecrets {
			w.secrets = append(w.secrets, s)
		}
	}
	add(payload)
	words := strings.Fields(payload)
	for _, word := range words {
		if len(words) > 1 {
			add(word)
		}
		dec, err := base64.StdEncoding.DecodeString(word)
		if err != nil {
			continue
		}
		for _, part := range strings.FieldsFunc(string(dec), func(r rune) bool {
			return r == 0 || r == 1 || r == ' ' || r == ','
		}) {
			add(part)
		}
	}
}

// hideEchoes replaces the remembered payloads in a server line.
func (w *Writer) hideEchoes(line string) string {
	for _, s := range w.secrets {
		line = strings.ReplaceAll(line, s, hidden)
	}
	return line
}

// replyCode returns the reply code of a reply line (0 if it has none) and whether the line is
// the last of its reply (RFC 5321 §4.2.1: "-" after the code means more follow).
func replyCode(line string) (code int, final bool) {
	if len(line) < 3 || len(line) > 3 && line[3] != ' ' && line[3] != '-' {
		return 0, true
	}
	for _, c := range []byte(line[:3]) {
		if c < '0' || c > '9' {
			return 0, true
		}
		code = code*10 + int(c-'0')
	}
	return code, sepOf(line) == ' '
}

func sepOf(line string) byte {
	if len(line) > 3 {
		return line[3]
	}
	return ' '
}

// annotation reports whether a client line is a producer's note in brackets, like "[TLS ...]":
// no SMTP command and no base64 payload looks like one.
func annotation(line string) bool {
	return len(line) >= 2 && line[0] == '[' && line[len(line)-1] == ']'
}

func messageLine(n int64) string { return "[message: " + strconv.FormatInt(n, 10) + " bytes]" }

// emit writes one line, "PID D text\n", in one Write call. Control characters are escaped so a
// line cannot forge another, and the line is cut to maxLine.
func (w *Writer) emit(dir byte, text string) {
	b := append(w.buf[:0], w.pid...)
	b = append(b, ' ', dir, ' ')
	const cut = " [cut]\n"
	limit := maxLine - len(cut)
	for i := 0; i < len(text); i++ {
		if len(b)+4 > limit { // 4: the longest a byte becomes, escaped
			b = dropPartialRune(b)
			b = append(b, cut[:len(cut)-1]...)
			break
		}
		c := text[i]
		if c < 0x20 || c == 0x7f {
			b = append(b, '\\', 'x', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
			continue
		}
		b = append(b, c)
	}
	b = append(b, '\n')
	w.buf = b
	if _, err := w.out.Write(b); err != nil && w.err == nil {
		w.err = err
	}
}

// dropPartialRune removes an incomplete UTF-8 sequence at the end of b, so a cut line does not
// end inside a character.
func dropPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}
