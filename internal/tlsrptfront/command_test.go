package tlsrptfront

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestMainUsage: the command's usage errors and its refusal to run without a state directory.
func TestMainUsage(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"help", []string{"--help"}, 0, "usage: mxout tlsrpt --from ADDRESS"},
		{"no from", []string{}, 64, "usage: mxout tlsrpt"},
		{"bad from", []string{"--from", "nobody"}, 64, "usage: mxout tlsrpt"},
		{"extra argument", []string{"--from", "a@b.test", "x"}, 64, "usage: mxout tlsrpt"},
		{"bad day", []string{"--from", "a@b.test", "--day", "yesterday"}, 64, `--day "yesterday"`},
		{"state dir missing", []string{"--from", "a@b.test", "--state-dir", missing, "--dns", "127.0.0.1:53"}, 78, "state directory " + missing},
		{"mta-sts off", []string{"--from", "a@b.test", "--no-mta-sts", "--dns", "127.0.0.1:53"}, 78, "no usable state directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			getenv := func(string) string { return "" }
			if code := Main(tt.args, &stdout, &stderr, getenv, "test"); code != tt.code {
				t.Errorf("exit %d; want %d (stderr %q)", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.err) {
				t.Errorf("stderr %q; want %q", stderr.String(), tt.err)
			}
		})
	}
}
