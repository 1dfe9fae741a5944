//go:build integration

package integration

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// runDeliver runs the built mxout deliver with args, msg on stdin, against the peers' resolver,
// and returns its stdout, stderr and exit status.
func runDeliver(t *testing.T, msg []byte, args ...string) (string, string, int) {
	t.Helper()
	peersDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t, "mxout"), append([]string{"deliver"}, args...)...)
	cmd.Env = append(cleanEnv(), "MXOUT_DNS="+peerDNS)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(msg), &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return stdout.String(), stderr.String(), 0
	case errors.As(err, &ee):
		return stdout.String(), stderr.String(), ee.ExitCode()
	}
	t.Fatalf("mxout deliver: %v", err)
	return "", "", 0
}

// toPeer sends every recipient to the receiving Postfix peer.
var toPeer = []string{"-F", "[127.0.0.1]:" + peerSMTPPort}

// TestDeliverExitCodes: one case per row of the contract's exit table, through the real binary.
// Each delivery prints one status line per recipient, in argument order, with the given
// statuses; a failure writes one stderr line that starts with the given code.
func TestDeliverExitCodes(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		msg      string // "" means a fresh complete message
		exit     int
		statuses []string // per recipient: "ok", "deferred", "error"; nil: no status lines
		diag     string   // prefix of stderr
	}{
		{name: "0 every recipient accepted", args: append(toPeer, "-f", sender, "--", "exit0-a@example.test", "exit0-b@example.test"),
			exit: 0, statuses: []string{"ok", "ok"}},
		{name: "75 a temporary refusal", args: append(toPeer, "-f", sender, "exit75@example.test", "reject-450@example.test"),
			exit: 75, statuses: []string{"ok", "deferred"}, diag: "4.7.1 reject-450@example.test: "},
		{name: "75 connection refused", args: []string{"-F", "[127.0.0.1]:2599", "-f", sender, "x@example.test"},
			exit: 75, statuses: []string{"deferred"}, diag: "4.4.1 x@example.test: "},
		{name: "67 unknown domain", args: []string{"-f", "", "someone@nosuch.example.test"},
			exit: 67, statuses: []string{"error"}, diag: "5.1.2 someone@nosuch.example.test: "},
		{name: "69 permanent refusal", args: append(toPeer, "-f", sender, "exit69@example.test", "reject-550@example.test"),
			exit: 69, statuses: []string{"ok", "error"}, diag: "5.7.1 reject-550@example.test: "},
		{name: "64 no sender", args: append(toPeer, "x@example.test"), exit: 64, diag: "mxout deliver: -f SENDER is required"},
		{name: "64 -d and -F", args: append(toPeer, "-d", "example.test", "-f", sender, "x@example.test"), exit: 64},
		{name: "64 no recipient", args: append(toPeer, "-f", sender), exit: 64},
		{name: "64 -7 with -8", args: append(toPeer, "-7", "-8", "-f", sender, "x@example.test"), exit: 64, diag: "mxout deliver: -7 and -8 exclude each other"},
		{name: "65 partial last line", args: append(toPeer, "-f", sender, "x@example.test"), msg: "Subject: partial\n\nno line end",
			exit: 65, statuses: []string{"error"}, diag: "5.6.2 x@example.test: "},
		{name: "78 unreadable control directory", args: []string{"-C", "/nonexistent/mxout", "-f", sender, "x@example.test"},
			exit: 78, diag: "4.3.5 mxout deliver: local configuration error: -C /nonexistent/mxout: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := []byte(tt.msg)
			if tt.msg == "" {
				msg = message(newMessageID(t), "exit codes <x@example.test>", "exit code test\n")
			}
			out, errOut, code := runDeliver(t, msg, tt.args...)
			if code != tt.exit {
				t.Errorf("exit %d; want %d\nstdout %q\nstderr %q", code, tt.exit, out, errOut)
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				if l == "" {
					continue
				}
				f := strings.Split(l, "\t")
				if len(f) != 5 || f[0] != "-" {
					t.Fatalf("status line %q: want 5 tab-separated fields, the first \"-\"", l)
				}
				got = append(got, f[2])
			}
			if strings.Join(got, " ") != strings.Join(tt.statuses, " ") {
				t.Errorf("statuses %q; want %q\nstdout %q", got, tt.statuses, out)
			}
			if !strings.HasPrefix(errOut, tt.diag) || tt.exit == 0 && errOut != "" {
				t.Errorf("stderr %q; want it to start with %q", errOut, tt.diag)
			}
			if tt.exit != 0 && tt.exit != 64 && strings.Count(errOut, "\n") != 1 {
				t.Errorf("stderr %q: want exactly one line", errOut)
			}
		})
	}
}

// TestDeliverByDomain: without -d or -F each domain is routed by its MX records (DNSSEC, DANE),
// and with --rcpt-limit 1 two recipients of one domain make two transactions, each recipient
// reported once. The peers' MX is 127.0.0.1, this machine: --best-mx-ok lets it through;
// without it the loop check refuses with 5.4.6.
func TestDeliverByDomain(t *testing.T) {
	id := newMessageID(t)
	msg := message(id, "<bydomain@example.test>", "routed by MX\n")
	args := []string{"-p", peerSMTPPort, "--json", "-f", sender, "bydomain-a@example.test", "bydomain-b@example.test", "c@nosuch.example.test"}
	out, _, code := runDeliver(t, msg, append([]string{"--best-mx-ok", "--rcpt-limit", "1"}, args...)...)
	if code != 67 && code != 69 || !strings.Contains(out, `"status":"partial"`) || !strings.Contains(out, `"verified":"dane-ee"`) {
		t.Errorf("exit %d, %s; want a partial delivery over DANE and 5.1.2 for nosuch", code, out)
	}
	files := waitMail(t, id, 2)
	qid := regexp.MustCompile(`\(Postfix\) with \S+ id ([0-9A-Za-z]+)\s`)
	a, b := qid.FindSubmatch(files[0].head()), qid.FindSubmatch(files[1].head())
	if a == nil || b == nil || bytes.Equal(a[1], b[1]) {
		t.Errorf("--rcpt-limit 1: want two transactions, got queue ids %q and %q", a, b)
	}
	out, errOut, code := runDeliver(t, msg, args...)
	if code != 69 || strings.Count(out, `"dsn":"5.4.6"`) != 2 || !strings.HasPrefix(errOut, "5.4.6 ") {
		t.Errorf("without --best-mx-ok: exit %d, %s %s; want 5.4.6 for example.test", code, out, errOut)
	}
}

// TestDeliverFallbackRelay: a destination that does not exist, and one where nothing listens,
// go to --fallback-relay (the receiving peer), which takes the mail; a refusal by a server that
// answered does not.
func TestDeliverFallbackRelay(t *testing.T) {
	relay := []string{"--fallback-relay", "[127.0.0.1]:" + peerSMTPPort, "-f", sender}
	for _, tc := range []struct {
		name string
		args []string
		exit int
		want string
	}{
		{"no such domain", append([]string{"-d", "nosuch.example.test"}, append(relay, "fallback-nx@example.test")...), 0, "\tok\t2.0.0\t"},
		{"nothing listens", append([]string{"-F", "[127.0.0.1]:2599"}, append(relay, "fallback-dead@example.test")...), 0, "\tok\t2.0.0\t"},
		{"refused by the destination", append(append([]string{}, toPeer...), append(relay, "reject-550@example.test")...), 69, "\terror\t5.7.1\t"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := newMessageID(t)
			out, errOut, code := runDeliver(t, message(id, "<fallback@example.test>", "via the fallback relay\n"), tc.args...)
			if code != tc.exit || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, out, errOut, tc.exit, tc.want)
			}
			if tc.exit == 0 {
				waitMail(t, id, 1)
			}
		})
	}
}
