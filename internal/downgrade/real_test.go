package downgrade

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestRealMessages round-trips messages shaped as common mailers write them (testdata/*.eml):
// a Thunderbird message with 8bit alternatives and an attachment, an Outlook one in
// ISO-8859-1 with an inline binary image, a forwarded message/rfc822, a delivery report. Each
// is tried as stored (LF) and with CRLF.
func TestRealMessages(t *testing.T) {
	want := map[string]Result{
		"thunderbird.eml": {QuotedPrintable: 2},
		"outlook.eml":     {QuotedPrintable: 1, Base64: 1},
		"forward.eml":     {QuotedPrintable: 1, Relabeled: 1},
		"dsn.eml":         {Base64: 1, Relabeled: 1},
	}
	files, _ := filepath.Glob("testdata/*.eml")
	if len(files) != len(want) {
		t.Fatalf("testdata holds %d messages, want %d", len(files), len(want))
	}
	for _, file := range files {
		msg, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range [][]byte{msg, bytes.ReplaceAll(msg, []byte("\n"), []byte("\r\n"))} {
			_, res := roundTrip(t, m, Options{})
			if res != want[filepath.Base(file)] {
				t.Errorf("%s: %+v, want %+v", file, res, want[filepath.Base(file)])
			}
		}
	}
}
