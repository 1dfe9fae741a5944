package smtptest

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestParseScript(t *testing.T) {
	tests := []struct {
		line string
		want step
	}{
		{"< 250 ok", step{kind: opWrite, payload: []byte("250 ok\r\n")}},
		{"<\t250  two  blanks  ", step{kind: opWrite, payload: []byte("250  two  blanks\r\n")}},
		{"<", step{kind: opWrite, payload: []byte("\r\n")}},
		{`<raw 250 a\n`, step{kind: opWrite, payload: []byte("250 a\n")}},
		{`<raw`, step{kind: opWrite, payload: []byte{}}},
		{"> EHLO a", step{kind: opExpect, text: "EHLO a"}},
		{">", step{kind: opExpect, text: ""}},
		{"> *", step{kind: opAny}},
		{"> * x", step{kind: opExpect, text: "* x"}},
		{">~ MAIL .*", step{kind: opMatch}},
		{"! data", step{kind: opData}},
		{"!data", step{kind: opData}},
		{"! read 12", step{kind: opRead, n: 12}},
		{"! close", step{kind: opClose}},
		{"! stall", step{kind: opStall}},
		{"! expect-eof", step{kind: opExpectEOF}},
		{"! eof-or-quit", step{kind: opEOFOrQuit}},
		{"! sleep 150ms", step{kind: opSleep, d: 150 * time.Millisecond}},
		{"! drip 0", step{kind: opDrip}},
		{"! big 70000 250-x", step{kind: opBig, n: 70000, text: "250-x"}},
		{"! big 2", step{kind: opBig, n: 2}},
		{"! many 3 250-a b", step{kind: opMany, n: 3, text: "250-a b"}},
		{"! starttls", step{kind: opTLS}},
		{"! tls", step{kind: opTLS}},
	}
	for _, tt := range tests {
		steps, err := parseScript("# comment\n\n  " + tt.line + "  \n")
		if err != nil {
			t.Errorf("%q: %v", tt.line, err)
			continue
		}
		got := steps[0]
		if len(steps) != 1 || got.line != 3 || got.src != strings.TrimSpace(tt.line) {
			t.Errorf("%q: got %d steps, line %d, src %q", tt.line, len(steps), got.line, got.src)
		}
		if got.kind != tt.want.kind || !bytes.Equal(got.payload, tt.want.payload) || got.text != tt.want.text ||
			got.n != tt.want.n || got.d != tt.want.d || (got.kind == opMatch) != (got.re != nil) {
			t.Errorf("%q: got %+v, want %+v", tt.line, got, tt.want)
		}
	}
}

func TestParseScriptErrors(t *testing.T) {
	tests := []struct{ script, want string }{
		{"", "no directives"},
		{"# only\n  \n", "no directives"},
		{"220 hi", "starts with <, > or !"},
		{"<250 ok", "want a blank after <"},
		{"<rawx", "want a blank after <"},
		{">QUIT", "want a blank after >"},
		{">~", "want a blank and a regexp"},
		{">~(", "want a blank and a regexp"},
		{">~ (", "missing closing )"},
		{`<raw \q`, `unknown escape \q`},
		{`<raw a\`, "lone backslash"},
		{`<raw \x4`, "two hex digits"},
		{`<raw \xg0`, "two hex digits"},
		{"! frob", "unknown directive ! frob"},
		{"! data now", "takes no argument"},
		{"! sleep", "wants a duration"},
		{"! sleep -1s", "wants a duration"},
		{"! drip fast", "wants a duration"},
		{"! read", "wants a count"},
		{"! read 0", "wants a count"},
		{"! read 5 x", "only a count"},
		{"! big 4 250-x", "shorter than its prefix"},
		{"! big 999999999999 x", "wants a count"},
		{"! many 0 x", "wants a count"},
		{"< 220\n! tls", "line 2: ! tls must be the first"},
		{"! close\n< 250", "line 2: nothing can run after ! close"},
		{"! stall\n# fine\n> QUIT", "line 3: nothing can run after ! stall"},
		{"! eof-or-quit\n< 221", "nothing can run after ! eof-or-quit"},
		{"! reset\n> QUIT", "nothing can run after ! reset"},
		{"! reset now", "takes no argument"},
	}
	for _, tt := range tests {
		_, err := parseScript(tt.script)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: got %v, want %q", tt.script, err, tt.want)
		}
	}
}

func TestReadData(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{".\r\n", ".\r\n", true},
		{"a\r\n.\r\nQUIT\r\n", "a\r\n.\r\n", true},
		{"..a\r\n.\r\n", "..a\r\n.\r\n", true},
		{"a\r.\r\n.\r\n", "a\r.\r\n.\r\n", true},       // a bare CR does not end a line
		{"a\n.\r\n.\r\n", "a\n.\r\n.\r\n", true},       // nor does a bare LF start the dot line
		{"\n.\r\n.\r\n", "\n.\r\n.\r\n", true},         // the same at the very start
		{"a\r\n.\n.\r\n", "a\r\n.\n.\r\n", false},      // a dot line must end in CRLF, and so must the line before
		{"a\r\n. \r\n.\r\n", "a\r\n. \r\n.\r\n", true}, // and hold nothing else
		{"a\r\n.", "a\r\n.", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := readData(bufio.NewReaderSize(strings.NewReader(tt.in), 16))
		if string(got) != tt.want || (err == nil) != tt.ok {
			t.Errorf("%q: got %q, %v; want %q, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	long := strings.Repeat("x", 100) + "\r\n.\r\n"
	if got, err := readData(bufio.NewReaderSize(strings.NewReader(long), 16)); err != nil || string(got) != long {
		t.Errorf("long line across buffer fills: %q, %v", got, err)
	}
}

func TestReadLine(t *testing.T) {
	tests := []struct {
		in, line string
		crlf, ok bool
	}{
		{"QUIT\r\n", "QUIT", true, true},
		{"QUIT\n", "QUIT", false, true},
		{"\r\n", "", true, true},
		{"a\rb\r\n", "a\rb", true, true},
		{strings.Repeat("y", 100) + "\r\n", strings.Repeat("y", 100), true, true},
		{"QU", "QU", false, false},
		{strings.Repeat("z", maxLine+10), strings.Repeat("z", maxLine), false, false},
	}
	for _, tt := range tests {
		line, crlf, err := readLine(bufio.NewReaderSize(strings.NewReader(tt.in), 16))
		if string(line) != tt.line || crlf != tt.crlf || (err == nil) != tt.ok {
			t.Errorf("%.20q: got %.20q, %v, %v", tt.in, line, crlf, err)
		}
	}
}

// FuzzParseScript: the parser never panics, and what it accepts is
// consistent: line numbers rise, writes have payloads, counts are in range.
func FuzzParseScript(f *testing.F) {
	f.Add(session)
	f.Add(starttlsScript)
	f.Add("<raw \\x00\\r\\n\\\\\n! big 9 250-x\n! many 3 x\n! drip 1ms\n! sleep 0s\n! read 3\n! expect-eof")
	f.Add(">~ MAIL FROM:<(.*)>\n! stall")
	f.Fuzz(func(t *testing.T, src string) {
		steps, err := parseScript(src)
		if err != nil {
			return
		}
		last := 0
		for _, st := range steps {
			if st.line <= last || st.src == "" {
				t.Fatalf("step %+v after line %d", st, last)
			}
			last = st.line
			switch st.kind {
			case opWrite:
				if st.payload == nil {
					t.Fatalf("write without payload: %+v", st)
				}
			case opBig:
				if st.n < len(st.text)+2 || st.n > maxBig {
					t.Fatalf("big out of range: %+v", st)
				}
			case opMany, opRead:
				if st.n < 1 || st.n > maxBig {
					t.Fatalf("count out of range: %+v", st)
				}
			case opMatch:
				if st.re == nil {
					t.Fatalf("match without regexp: %+v", st)
				}
			}
		}
	})
}

// FuzzReadData: whatever the client sends, readData returns a prefix of it,
// and on success that prefix ends at the first CRLF.CRLF (or a leading .CRLF).
func FuzzReadData(f *testing.F) {
	f.Add([]byte("a\r\n.\r\n"))
	f.Add([]byte(".\r\nQUIT\r\n"))
	f.Add([]byte("a\r.\r\n\n.\r\n.\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := readData(bufio.NewReaderSize(bytes.NewReader(in), 16))
		if !bytes.HasPrefix(in, got) {
			t.Fatalf("result %q is not a prefix of the input", got)
		}
		if err != nil {
			return
		}
		end := bytes.Index(in, []byte("\r\n.\r\n"))
		want := end + 5
		if bytes.HasPrefix(in, []byte(".\r\n")) {
			want = 3
		}
		if end < 0 && want != 3 || len(got) != want {
			t.Fatalf("got %d bytes %q; want the body to end at %d", len(got), got, want)
		}
	})
}

// FuzzReadLine: a line is a prefix of the input with its terminator removed,
// and never longer than the limit.
func FuzzReadLine(f *testing.F) {
	f.Add([]byte("EHLO a\r\n"))
	f.Add([]byte("QUIT\n"))
	f.Add([]byte("partial"))
	f.Fuzz(func(t *testing.T, in []byte) {
		line, crlf, err := readLine(bufio.NewReaderSize(bytes.NewReader(in), 16))
		if len(line) > maxLine || !bytes.HasPrefix(in, line) {
			t.Fatalf("line %q from %q", line, in)
		}
		if err != nil {
			return
		}
		term := "\n"
		if crlf {
			term = "\r\n"
		}
		if !bytes.HasPrefix(in, append(append([]byte(nil), line...), term...)) || bytes.IndexByte(line, '\n') >= 0 {
			t.Fatalf("line %q, crlf %v from %q", line, crlf, in)
		}
		if !crlf && bytes.HasSuffix(line, []byte("\r")) {
			t.Fatalf("line %q keeps its CR", line)
		}
	})
}
