package qmailremote

import (
	"path/filepath"
	"testing"
)

// TestStateDir: $MXOUT_STATE names the state directory, "off" switches MTA-STS off, and the
// default is QMAILHOME/mxout.
func TestStateDir(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "MXOUT_STATE" {
				return v
			}
			return ""
		}
	}
	for _, tt := range []struct{ v, want string }{
		{"", filepath.Join("/var/qmail", "mxout")},
		{"off", ""},
		{"/srv/mxout", "/srv/mxout"},
	} {
		if got := stateDir("/var/qmail", env(tt.v)); got != tt.want {
			t.Errorf("MXOUT_STATE=%q: %q; want %q", tt.v, got, tt.want)
		}
	}
}
