package qmtptest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestReadPackage(t *testing.T) {
	tests := []struct {
		in      string
		want    string // "message|sender|rcpt rcpt", or "" for an error
		framing bool   // the error is a protocol mistake, not the connection
	}{
		{"4:\nhi\n,1:s,4:1:a,,", "hi\n|s|a", false},
		{"1:\n,0:,8:1:a,1:b,,", "||a b", false}, // empty message, null sender
		{"3:hi\n,1:s,4:1:a,,", "", true},        // no LF indicator
		{"4:\nhi\n,1:s,0:,", "", true},          // no recipients
		{"4:\nhi\n,1:s,3:1:ab,", "", true},      // inner netstring overruns
		{"4:\nhi\n;", "", true},                 // no comma
		{"4:\nhi\n,1:s,", "", false},            // EOF before the recipients
		{"4:\nh", "", false},                    // EOF inside the message
		{"", "", false},                         // EOF before the package
		{"99999999999:", "", true},              // too long
	}
	for _, tt := range tests {
		p, err := ReadPackage(bufio.NewReader(strings.NewReader(tt.in)))
		got := ""
		if err == nil {
			got = string(p.Message) + "|" + p.Sender + "|" + strings.Join(p.Recipients, " ")
		}
		if got != tt.want || errors.Is(err, errFraming) != tt.framing {
			t.Errorf("%q: got %q, %v; want %q (framing error %v)", tt.in, got, err, tt.want, tt.framing)
		}
	}
}

// TestServerReportsFraming: a client that breaks the protocol fails the test through Cleanup;
// here the failure is caught by a fake testing.TB.
func TestServerReportsFraming(t *testing.T) {
	ft := &fakeTB{TB: t}
	s := start(ft, nil, []Step{{Respond: K("ok")}})
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "3:abc,1:s,4:1:a,,")
	c.SetReadDeadline(time.Now().Add(time.Second))
	io.ReadAll(c) // the server hangs up
	c.Close()
	for _, f := range ft.cleanups {
		f()
	}
	if len(ft.errors) != 1 || !strings.Contains(ft.errors[0], "LF") {
		t.Errorf("reported %q", ft.errors)
	}
}

type fakeTB struct {
	testing.TB
	cleanups []func()
	errors   []string
}

func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

// FuzzReadPackage: whatever a client sends, the reader stays within its bounds and returns either
// a package with at least one recipient or an error.
func FuzzReadPackage(f *testing.F) {
	for _, s := range []string{"4:\nhi\n,1:s,4:1:a,,", "1:\n,0:,8:1:a,1:b,,", "3:hi\n,", "", "0:,0:,0:,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := ReadPackage(bufio.NewReaderSize(strings.NewReader(in), 16))
		if err != nil {
			return
		}
		if len(p.Recipients) == 0 || len(p.Message) >= len(in) || len(p.Sender) > maxAddress {
			t.Fatalf("%q: package %q", in, p)
		}
	})
}
