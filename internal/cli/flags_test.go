package cli

import (
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/mxout/mxout/internal/deliver"
)

// build parses args as the commands do and builds the engine.
func build(t *testing.T, args ...string) (*deliver.Engine, error) {
	t.Helper()
	var f Flags
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f.Register(fs)
	if err := fs.Parse(append([]string{"--dns", "127.0.0.1:53"}, args...)); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	s, err := f.Build(func(string) string { return "" })
	if err != nil {
		return nil, err
	}
	t.Cleanup(s.Close)
	return s.Engine, nil
}

// TestProtocolFlags: -M, -F unix:, -7 and -8 as the engine sees them.
func TestProtocolFlags(t *testing.T) {
	tests := []struct {
		args   []string
		lmtp   bool
		socket string
		eight  deliver.EightBit
	}{
		{nil, false, "", deliver.EightBitDowngrade},
		{[]string{"-8"}, false, "", deliver.EightBitAsIs},
		{[]string{"-7"}, false, "", deliver.SevenBitOnly},
		{[]string{"-M", "-p", "2424"}, true, "", deliver.EightBitDowngrade},
		{[]string{"-M", "-F", "[127.0.0.1]:2424"}, true, "", deliver.EightBitDowngrade},
		{[]string{"-M", "-F", "lmtp.example.test:24"}, true, "", deliver.EightBitDowngrade},
		{[]string{"-F", "unix:/run/dovecot/lmtp"}, true, "/run/dovecot/lmtp", deliver.EightBitDowngrade},
		{[]string{"-M", "-7", "-F", "unix:/run/dovecot/lmtp"}, true, "/run/dovecot/lmtp", deliver.SevenBitOnly},
	}
	for _, tt := range tests {
		e, err := build(t, tt.args...)
		if err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		if e.LMTP != tt.lmtp || e.Socket != tt.socket || e.EightBit != tt.eight {
			t.Errorf("%v: lmtp %v socket %q 8-bit %v; want %v %q %v", tt.args, e.LMTP, e.Socket, e.EightBit, tt.lmtp, tt.socket, tt.eight)
		}
		if tt.socket != "" && e.Routes != nil {
			t.Errorf("%v: a socket destination also set a route", tt.args)
		}
	}
}

// TestProtocolUsage: combinations that cannot mean anything are usage errors that say why.
func TestProtocolUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-7", "-8"}, "exclude each other"},
		{[]string{"-M"}, "no standard port"},
		{[]string{"-M", "-F", "lmtp.example.test"}, "no standard port"},
		{[]string{"-M", "-F", "[127.0.0.1]"}, "no standard port"},
		{[]string{"-F", "unix:run/lmtp"}, "absolute"},
		{[]string{"-F", "unix:/run/lmtp", "-p", "24"}, "no port"},
	}
	for _, tt := range tests {
		_, err := build(t, tt.args...)
		if !IsUsage(err) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v; want a usage error saying %q", tt.args, err, tt.want)
		}
	}
}
