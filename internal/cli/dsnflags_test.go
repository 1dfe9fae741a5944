package cli

import (
	"flag"
	"io"
	"testing"
)

// TestDSNFlags: --ret, --envid, --notify and --orcpt (once per recipient) make the job's DSN
// parameters; values that cannot be sent and a wrong number of --orcpt are usage errors.
func TestDSNFlags(t *testing.T) {
	parse := func(args ...string) *Flags {
		var f Flags
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		f.Register(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return &f
	}
	f := parse("--ret", "hdrs", "--envid", "q-1", "--notify", "success,delay", "--orcpt", "rfc822;a@x", "--orcpt", "b@y", "--requiretls")
	d, err := f.JobDSN(2)
	if err != nil || d.Ret != "HDRS" || d.EnvID != "q-1" || d.Notify != "success,delay" || len(d.ORcpt) != 2 || !f.RequireTLS {
		t.Fatalf("got %+v, %v", d, err)
	}
	if _, err := f.JobDSN(3); !IsUsage(err) {
		t.Errorf("3 recipients, 2 --orcpt: %v, want a usage error", err)
	}
	for _, args := range [][]string{{"--ret", "BODY"}, {"--notify", "NEVER,DELAY"}, {"--envid", "a\tb"}} {
		if _, err := parse(args...).JobDSN(1); !IsUsage(err) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	s, err := parse("--no-chunking").Build(func(string) string { return "" })
	if err != nil || s.Engine.Chunking || !s.Engine.HonourTLSRequiredNo {
		t.Errorf("--no-chunking: %v; chunking %v", err, s != nil && s.Engine.Chunking)
	}
	s, err = parse().Build(func(string) string { return "" })
	if err != nil || !s.Engine.Chunking {
		t.Errorf("default: %v; chunking off", err)
	}
}
