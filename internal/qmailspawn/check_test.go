package qmailspawn

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestCheck(t *testing.T) {
	ok := Command{Delnum: 3, MessID: "12/345", Sender: "s@example.org", Recipient: "a@example.test"}
	tests := []struct {
		name string
		edit func(c *Command)
		want string
	}{
		{"passes", func(c *Command) {}, ""},
		{"empty sender passes", func(c *Command) { c.Sender = "" }, ""},
		{"delnum at the limit", func(c *Command) { c.Delnum = 10 }, ReportDelnumTooBig},
		{"delnum in use", func(c *Command) { c.Delnum = 4 }, ReportDelnumInUse},
		{"messid with a letter", func(c *Command) { c.MessID = "12/3a5" }, ReportMessIDNonNumeric},
		{"messid with ..", func(c *Command) { c.MessID = "12/../5" }, ReportMessIDNonNumeric},
		{"messid with a leading /", func(c *Command) { c.MessID = "/etc/passwd" }, ReportMessIDNonNumeric},
		{"messid of slashes after a digit", func(c *Command) { c.MessID = "1//" }, ""},
		{"messid of 99 bytes", func(c *Command) { c.MessID = strings.Repeat("1", 99) }, ""},
		{"messid of 100 bytes", func(c *Command) { c.MessID = strings.Repeat("1", 100) }, ReportMessIDTooLong},
		{"nonnumerics before too long", func(c *Command) { c.MessID = strings.Repeat("1", 99) + "x" }, ReportMessIDNonNumeric},
		{"nonnumerics in the skipped part", func(c *Command) { c.messIDBad = true }, ReportMessIDNonNumeric},
		{"messid empty", func(c *Command) { c.MessID = "" }, ReportMessIDTooShort},
		{"recipient without @", func(c *Command) { c.Recipient = "postmaster" }, ReportNoHost},
		{"delnum before messid", func(c *Command) { c.Delnum = 200; c.MessID = "x" }, ReportDelnumTooBig},
		{"messid before recipient", func(c *Command) { c.MessID = ""; c.Recipient = "x" }, ReportMessIDTooShort},
		{"sender too long", func(c *Command) { c.Sender = strings.Repeat("s", MaxAddress+1) }, ReportSenderTooLong},
		{"sender skipped", func(c *Command) { c.senderLong = true }, ReportSenderTooLong},
		{"recipient too long", func(c *Command) { c.recipientLong = true; c.Delnum = 200 }, ReportRecipientTooLong},
	}
	for _, tt := range tests {
		c := ok
		tt.edit(&c)
		if got := Check(&c, 10, func(d byte) bool { return d == 4 }); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestHost(t *testing.T) {
	for in, want := range map[string]string{"a@b.test": "b.test", "a@b@c.test": "c.test", "a@": "", "@x": "x"} {
		if got := Host(in); got != want {
			t.Errorf("Host(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestOpenMessage opens messages of every kind. The queue user is the test's own; a message of
// another owner is given away when the test runs as root, and otherwise a link to root's file.
func TestOpenMessage(t *testing.T) {
	queueUID := os.Getuid()
	dir := t.TempDir()
	write := func(name string) string {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("Subject: x\n\nhi\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write("1/100")
	if queueUID == 0 {
		if err := os.Chown(write("1/101"), 4242, -1); err != nil {
			t.Fatal(err)
		}
	} else if err := os.Symlink("/etc/passwd", filepath.Join(dir, "1/101")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "2"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "1/102"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("100", filepath.Join(dir, "1/103")); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ messid, want string }{
		{"1/100", ""},
		{"1/103", ""}, // a link inside the queue is followed, as by the reference; the target's owner counts
		{"1/101", ReportWrongOwner},
		{"2", ReportWrongType},
		{"1/102", ReportWrongType}, // a FIFO: refused without blocking
		{"1/999", ReportCannotOpen},
	}
	for _, tt := range tests {
		f, got := OpenMessage(dir, tt.messid, queueUID)
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.messid, got, tt.want)
		}
		if (f != nil) != (tt.want == "") {
			t.Errorf("%s: file %v with report %q", tt.messid, f, got)
		}
		if f != nil {
			b := make([]byte, 9)
			if n, err := f.Read(b); err != nil || string(b[:n]) != "Subject: " {
				t.Errorf("%s: read %q, %v", tt.messid, b[:n], err)
			}
			f.Close()
		}
	}
}
