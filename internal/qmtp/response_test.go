package qmtp

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadResponse(t *testing.T) {
	long := strings.Repeat("x", MaxResponseBytes)
	tests := []struct {
		in   string
		want Response
		err  error
	}{
		{"3:Kok,", Response{'K', "ok"}, nil},
		{"1:Z,", Response{'Z', ""}, nil},
		{"27:Dno such user here (#5.1.1),", Response{'D', "no such user here (#5.1.1)"}, nil},
		{"004:Kabc,", Response{'K', "abc"}, nil},                    // leading zeros, as qmail reads them
		{"4:K\r\n\x00,", Response{'K', "\r\n\x00"}, nil},            // raw text: reports sanitise it
		{"8193:K" + long + ",", Response{}, ErrProtocol},            // over MaxResponseBytes
		{"99999999999999999999999:", Response{}, ErrProtocol},       // no overflow
		{"0:,", Response{}, ErrProtocol},                            // no status byte
		{"3:Xok,", Response{}, ErrProtocol},                         // unknown status
		{"3:kok,", Response{}, ErrProtocol},                         // status is case-sensitive
		{"3:Kok;", Response{}, ErrProtocol},                         // no final comma
		{":Kok,", Response{}, ErrProtocol},                          // no length
		{"-3:Kok,", Response{}, ErrProtocol},                        // not a digit
		{"250 ok\r\n", Response{}, ErrProtocol},                     // an SMTP server
		{"", Response{}, io.EOF},                                    // hung up between responses
		{"3:K", Response{}, io.ErrUnexpectedEOF},                    // hung up inside one
		{"12", Response{}, io.ErrUnexpectedEOF},                     // inside the length
		{"3:Kok", Response{}, io.ErrUnexpectedEOF},                  // before the comma
		{strings.Repeat("0", 30) + "1:K,", Response{}, ErrProtocol}, // too many digits
	}
	for _, tt := range tests {
		got, err := readResponse(bufio.NewReaderSize(strings.NewReader(tt.in), 16))
		if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("%.40q: got %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// TestReadResponseKeepsFraming: after a response the reader stands at the next one.
func TestReadResponseKeepsFraming(t *testing.T) {
	br := bufio.NewReader(strings.NewReader("3:Kok,4:Zbad,2:Dx,"))
	var got []string
	for {
		r, err := readResponse(br)
		if err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
		got = append(got, r.String())
	}
	if strings.Join(got, "|") != "Kok|Zbad|Dx" {
		t.Errorf("got %q", got)
	}
}

func TestAppendNetstring(t *testing.T) {
	for in, want := range map[string]string{"": "0:,", "hello world!": "12:hello world!,", "a,b:": "4:a,b:,"} {
		if got := string(AppendNetstring([]byte("x"), []byte(in))); got != "x"+want {
			t.Errorf("%q: %q", in, got)
		}
		got, err := ReadNetstring(bufio.NewReader(strings.NewReader(want)), 100)
		if err != nil || string(got) != in {
			t.Errorf("read back %q: %q, %v", want, got, err)
		}
	}
}

// FuzzReadResponse: whatever a server sends, the reader stays within its bound, returns only
// K, Z or D, never consumes more than one netstring, and never panics.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{"3:Kok,", "1:D,", "0:,", "3:Xok,", "0003:Zab,", "5:K", "9999999:", "", "250 ok\r\n", "2:Ka,3:Dbc,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		br := bufio.NewReaderSize(strings.NewReader(in), 16)
		r, err := readResponse(br)
		if err != nil {
			if r != (Response{}) {
				t.Fatalf("error %v with response %q", err, r)
			}
			return
		}
		if r.Status != 'K' && r.Status != 'Z' && r.Status != 'D' {
			t.Fatalf("status %q", r.Status)
		}
		if len(r.Text)+1 > MaxResponseBytes {
			t.Fatalf("kept %d bytes", len(r.Text))
		}
		rest, _ := io.ReadAll(br)
		if want := AppendNetstring(nil, append([]byte{r.Status}, r.Text...)); !strings.HasSuffix(in, string(rest)) ||
			len(in)-len(rest) < len(want) {
			t.Fatalf("consumed %d bytes for %q", len(in)-len(rest), want)
		}
	})
}
