package qmailctl

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestFirstLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"mx.example.test\n", "mx.example.test"},
		{"mx.example.test \t \n", "mx.example.test"},
		{"mx.example.test\r\n", "mx.example.test\r"}, // CR is kept
		{"  lead\n", "  lead"},
		{"first\nsecond\n", "first"},
		{"no newline", "no newline"},
		{"\nsecond", ""},
	}
	for _, tt := range tests {
		if got := firstLine([]byte(tt.in)); got != tt.want {
			t.Errorf("firstLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitLines(t *testing.T) {
	tests := []struct {
		in   string
		want []line
	}{
		{"", nil},
		{"a\nb\n", []line{{1, "a"}, {2, "b"}}},
		{"a\nlast", []line{{1, "a"}, {2, "last"}}},
		{"# comment\n\n  \t\nkept \t\n", []line{{4, "kept"}}},
		{"  lead:x\n", []line{{1, "  lead:x"}}},
		{" # not a comment\n", []line{{1, " # not a comment"}}},
		{"cr\r\n", []line{{1, "cr\r"}}},
		{"\n\n\nx", []line{{4, "x"}}},
	}
	for _, tt := range tests {
		if got := splitLines([]byte(tt.in)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitLines(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "isdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := readFile(dir, "absent"); ok || err != nil {
		t.Errorf("absent: ok=%v err=%v, want false, nil", ok, err)
	}
	if data, ok, err := readFile(dir, "f"); !ok || err != nil || string(data) != "x\n" {
		t.Errorf("f: %q ok=%v err=%v", data, ok, err)
	}
	_, _, err := readFile(dir, "isdir")
	var fe *FileError
	if !errors.As(err, &fe) || fe.File != "isdir" || !errors.Is(err, ErrControl) {
		t.Errorf("isdir: err=%v, want *FileError wrapping ErrControl", err)
	}
	// control itself a file: ENOTDIR is not "absent".
	if _, _, err := readFile(filepath.Join(dir, "f"), "me"); !errors.Is(err, ErrControl) {
		t.Errorf("under a file: err=%v, want ErrControl", err)
	}
}

func TestReadFileTooLarge(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "big"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, _, err := readFile(dir, "big"); !errors.Is(err, ErrControl) {
		t.Errorf("err=%v, want ErrControl", err)
	}
}

func TestSuffixKeys(t *testing.T) {
	tests := []struct {
		in        string
		withEmpty bool
		want      []string
	}{
		{"a.b.example.com", true, []string{"a.b.example.com", ".b.example.com", ".example.com", ".com", ""}},
		{"a.b.example.com", false, []string{"a.b.example.com", ".b.example.com", ".example.com", ".com"}},
		{"", true, []string{""}},
		{".x", false, []string{".x"}},
		{"x.", false, []string{"x.", "."}},
	}
	for _, tt := range tests {
		if got := suffixKeys(tt.in, tt.withEmpty); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("suffixKeys(%q, %v) = %q, want %q", tt.in, tt.withEmpty, got, tt.want)
		}
	}
}

func TestASCIILower(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""}, {"abc", "abc"}, {"MX.Example.TEST", "mx.example.test"}, {"ÄB", "Äb"},
	}
	for _, tt := range tests {
		if got := asciiLower(tt.in); got != tt.want {
			t.Errorf("asciiLower(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFileErrorString(t *testing.T) {
	e := &FileError{File: "smtproutes", Line: 3, Reason: "bad port"}
	if got, want := e.Error(), "qmailctl: control/smtproutes:3: bad port"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	cause := errors.New("boom")
	e = &FileError{File: "me", Err: cause}
	if !errors.Is(e, cause) || !errors.Is(e, ErrControl) {
		t.Errorf("errors.Is fails for %v", e)
	}
}
