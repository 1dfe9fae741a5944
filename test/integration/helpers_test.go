//go:build integration

package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// peersEnv is the variable that holds the state directory of the running test peers.
const peersEnv = "MXOUT_PEERS"

// The peers' fixed facts (test/peers/README.md).
const (
	peerSMTPPort = "2525"
	peerDNS      = "127.0.0.1:5353"
	sender       = "mxout-it@example.org"
)

// peersDir returns the peers' state directory, failing the test when it is not set or has no Postfix.
func peersDir(t *testing.T) string {
	t.Helper()
	d := os.Getenv(peersEnv)
	if d == "" {
		t.Fatalf("%s is not set: these tests need the test peers. Run scripts/test.sh, or start them with "+
			"`bash test/peers/up.sh DIR` (as root) and set %s=DIR", peersEnv, peersEnv)
	}
	if _, err := os.Stat(filepath.Join(d, "pids", "postfix.pid")); err != nil {
		t.Fatalf("%s=%s: no Postfix peer was started there (%v); run `bash test/peers/up.sh %s`", peersEnv, d, err, d)
	}
	return d
}

// binDirEnv names a directory of prebuilt binaries to test instead of building cmd/ (optional).
const binDirEnv = "MXOUT_IT_BINDIR"

var build struct {
	mu   sync.Mutex
	dir  string           // temporary directory of the built binaries, removed by TestMain
	errs map[string]error // by command name: built (nil) or why not
}

// binary returns the path of cmd/NAME, built on first use into a directory removed by TestMain,
// or the one in $MXOUT_IT_BINDIR when that is set. Safe for parallel tests.
func binary(t *testing.T, name string) string {
	t.Helper()
	if dir := os.Getenv(binDirEnv); dir != "" {
		return filepath.Join(dir, name)
	}
	build.mu.Lock()
	defer build.mu.Unlock()
	if build.dir == "" {
		dir, err := os.MkdirTemp("", "mxout-integration-")
		if err != nil {
			t.Fatal(err)
		}
		build.dir, build.errs = dir, map[string]error{}
	}
	err, done := build.errs[name]
	if !done {
		err = goBuild(build.dir, name)
		build.errs[name] = err
	}
	if err != nil {
		t.Fatalf("building the binaries: %v", err)
	}
	return filepath.Join(build.dir, name)
}

// goBuild runs `go build -o DIR/NAME ./cmd/NAME` at the module root (two levels above this package).
func goBuild(dir, name string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goTool, "build", "-o", filepath.Join(dir, name), "./cmd/"+name)
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build ./cmd/%s: %v\n%s", name, err, out)
	}
	return nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// qmailHome makes a QMAILHOME in a temporary directory with the given control files (name to
// content) on top of defaults for me, helohost, timeoutconnect and timeoutremote.
func qmailHome(t *testing.T, control map[string]string) string {
	t.Helper()
	home := t.TempDir()
	files := map[string]string{
		"me":             "client.example.test\n",
		"helohost":       "client.example.test\n",
		"timeoutconnect": "5\n",
		"timeoutremote":  "60\n",
	}
	for name, content := range control {
		files[name] = content
	}
	dir := filepath.Join(home, "control")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return home
}

// routeHome is a QMAILHOME whose smtproutes send example.test to the Postfix peer.
func routeHome(t *testing.T) string {
	return qmailHome(t, map[string]string{"smtproutes": "example.test:127.0.0.1:" + peerSMTPPort + "\n"})
}

// report is one NUL-ended report of qmail-remote: its letter (r, h, s, K, Z, D) and the text after it.
type report struct {
	Letter byte
	Text   string
}

func (r report) String() string { return fmt.Sprintf("%c%q", r.Letter, r.Text) }

// parseReports splits qmail-remote's stdout at NUL bytes. Output that does not end in NUL, or that
// has an empty report, is an error.
func parseReports(out []byte) ([]report, error) {
	if len(out) == 0 || out[len(out)-1] != 0 {
		return nil, fmt.Errorf("stdout does not end with NUL: %q", out)
	}
	var reports []report
	for _, part := range bytes.Split(out[:len(out)-1], []byte{0}) {
		if len(part) == 0 {
			return nil, fmt.Errorf("empty report in %q", out)
		}
		reports = append(reports, report{Letter: part[0], Text: string(part[1:])})
	}
	return reports, nil
}

// delivery is one run of qmail-remote.
type delivery struct {
	home string   // QMAILHOME
	env  []string // extra NAME=value settings
	host string
	rcpt []string
	from *string // the sender; nil: the package's sender constant
	pipe bool    // the message on stdin through a pipe instead of a file
}

// run starts qmail-remote as qmail-send does: the message on stdin from a file, the host, sender and
// recipients as arguments. It fails the test unless the exit status is 0 and stdout parses; stderr is
// only shown. MXOUT_DNS always points at the peers' resolver, so no test can reach real DNS.
func (d delivery) run(t *testing.T, msg []byte) []report {
	t.Helper()
	peersDir(t)
	bin := binary(t, "qmail-remote")
	path := filepath.Join(t.TempDir(), "message")
	if err := os.WriteFile(path, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	stdin, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if d.pipe {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		go func() { w.Write(msg); w.Close() }()
		stdin = r
	}
	from := sender
	if d.from != nil {
		from = *d.from
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{d.host, from}, d.rcpt...)...)
	cmd.Env = append(cleanEnv(), "QMAILHOME="+d.home, "MXOUT_DNS="+peerDNS)
	cmd.Env = append(cmd.Env, d.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &stdout, &stderr
	err = cmd.Run()
	if stderr.Len() > 0 {
		t.Logf("qmail-remote stderr:\n%s", stderr.Bytes())
	}
	if err != nil {
		t.Fatalf("qmail-remote %s %v: %v (must always exit 0); stdout %q", d.host, d.rcpt, err, stdout.Bytes())
	}
	reports, err := parseReports(stdout.Bytes())
	if err != nil {
		t.Fatalf("qmail-remote %s %v: %v", d.host, d.rcpt, err)
	}
	return reports
}

// cleanEnv is this process's environment without the variables the tests set themselves.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "QMAILHOME", "MXOUT_DNS", "MXOUT_SMTP_PORT":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// acceptedRE matches the message report for a delivery Postfix took, in clear or over TLS
// ("TLS (verified CA) transmitted message accepted."); group 1 is the queue id.
func acceptedRE(ip string) *regexp.Regexp {
	return regexp.MustCompile(`^` + ip + ` (?:accepted message|TLS(?: \([^)]+\))? transmitted message accepted)\.` +
		`\nRemote host said: 250 2\.0\.0 Ok: queued as ([0-9A-Za-z]+)\n$`)
}

// wantAccepted checks the reports of a delivery that should succeed for every recipient: one "r"
// report per recipient, then K from ip (a regular expression). It returns Postfix's queue id.
func wantAccepted(t *testing.T, reports []report, nrcpt int, ip string) string {
	t.Helper()
	if len(reports) != nrcpt+1 {
		t.Fatalf("got %d reports %v; want %d r reports and K", len(reports), reports, nrcpt)
	}
	for i, r := range reports[:nrcpt] {
		if r.Letter != 'r' || r.Text != "" {
			t.Errorf("report %d = %v; want r with no text", i, r)
		}
	}
	last := reports[nrcpt]
	m := acceptedRE(ip).FindStringSubmatch(last.Text)
	if last.Letter != 'K' || m == nil {
		t.Fatalf("message report = %v; want K%s accepted message.\\nRemote host said: 250 2.0.0 Ok: queued as ...", last, ip)
	}
	return m[1]
}
