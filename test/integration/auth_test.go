//go:build integration

package integration

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The Postfix peer's SASL account (test/peers/README.md). Mail for any domain but example.test
// is relayed only after AUTH, into $MXOUT_PEERS/postfix/mail/relayed/new/.
const (
	saslUser = "testuser"
	saslPass = "testpass"
)

// relayHome routes relay.test to the Postfix peer on port (an "s" prefix: TLS from the first
// byte) with the SASL account, and adds more control files.
func relayHome(t *testing.T, port, pass string, more map[string]string) string {
	files := map[string]string{"smtproutes": "relay.test:127.0.0.1;" + port + "|" + saslUser + "|" + pass + "\n"}
	for k, v := range more {
		files[k] = v
	}
	return qmailHome(t, files)
}

// waitRelayed polls the relay maildir until a message with id arrives, and returns it.
func waitRelayed(t *testing.T, id string) []byte {
	t.Helper()
	dir := filepath.Join(peersDir(t), "postfix", "mail", "relayed", "new")
	for deadline := time.Now().Add(mailWait); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			path := filepath.Join(dir, e.Name())
			if headerContains(path, id) {
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				return data
			}
		}
	}
	t.Fatalf("no message with %s in %s", id, dir)
	return nil
}

// postfixLog returns the maillog lines of queue id qid, waiting for the line that has want.
func postfixLog(t *testing.T, qid, want string) string {
	t.Helper()
	path := filepath.Join(peersDir(t), "postfix", "maillog")
	for deadline := time.Now().Add(mailWait); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, l := range strings.Split(string(data), "\n") {
			if strings.Contains(l, " "+qid+": ") {
				lines = append(lines, l)
			}
		}
		if s := strings.Join(lines, "\n"); strings.Contains(s, want) {
			return s
		}
	}
	t.Fatalf("no maillog line of %s with %q", qid, want)
	return ""
}

// wantNoPassword fails when any of the texts holds the password, plain or in base64 (PLAIN's
// and LOGIN's encodings).
func wantNoPassword(t *testing.T, texts ...string) {
	t.Helper()
	forms := []string{saslPass, base64.StdEncoding.EncodeToString([]byte(saslPass)),
		base64.StdEncoding.EncodeToString([]byte("\x00" + saslUser + "\x00" + saslPass))}
	for _, s := range texts {
		for _, f := range forms {
			if strings.Contains(s, f) {
				t.Errorf("the password (%q) shows in:\n%s", f, s)
			}
		}
	}
}

// TestAuthMechanisms: PLAIN, LOGIN and CRAM-MD5 (forced by control/authmechanisms) each
// authenticate at the real Postfix, after STARTTLS on 2525 and inside TLS on 4465, and the
// message is relayed to a domain Postfix relays only for authenticated clients. Postfix logs
// the mechanism that was used.
func TestAuthMechanisms(t *testing.T) {
	t.Parallel()
	for _, port := range []string{peerSMTPPort, "s4465"} {
		for _, mech := range []string{"PLAIN", "LOGIN", "CRAM-MD5"} {
			t.Run(port+"/"+mech, func(t *testing.T) {
				t.Parallel()
				id := newMessageID(t)
				msg := message(id, "someone@relay.test", "relayed after AUTH "+mech+"\n")
				home := relayHome(t, port, saslPass, map[string]string{"authmechanisms": mech + "\n"})
				reports := delivery{home: home, host: "relay.test", rcpt: []string{"someone@relay.test"}}.run(t, msg)
				qid := wantAccepted(t, reports, 1, `127\.0\.0\.1`)
				if !strings.Contains(reports[1].Text, "TLS") {
					t.Errorf("message report %v: want TLS (AUTH only after STARTTLS or inside TLS)", reports[1])
				}
				waitRelayed(t, id)
				postfixLog(t, qid, "sasl_method="+mech+", sasl_username="+saslUser)
				wantNoPassword(t, reports[0].Text, reports[1].Text)
			})
		}
	}
}

// TestAuthChoice: with PLAIN, LOGIN and CRAM-MD5 offered, the strongest, CRAM-MD5, is used.
func TestAuthChoice(t *testing.T) {
	t.Parallel()
	id := newMessageID(t)
	msg := message(id, "choice@relay.test", "which mechanism?\n")
	reports := delivery{home: relayHome(t, peerSMTPPort, saslPass, nil), host: "relay.test", rcpt: []string{"choice@relay.test"}}.run(t, msg)
	qid := wantAccepted(t, reports, 1, `127\.0\.0\.1`)
	postfixLog(t, qid, "sasl_method=CRAM-MD5")
}

// TestAuthWrongPassword: Postfix's 535 is s/qmail's Z report of the mechanism's last step, and
// nothing is relayed.
func TestAuthWrongPassword(t *testing.T) {
	t.Parallel()
	for mech, tag := range map[string]string{"PLAIN": "plain", "LOGIN": "login", "CRAM-MD5": "username+digest"} {
		t.Run(mech, func(t *testing.T) {
			t.Parallel()
			home := relayHome(t, peerSMTPPort, "wrong-"+saslPass, map[string]string{"authmechanisms": mech + "\n"})
			reports := delivery{home: home, host: "relay.test", rcpt: []string{"nobody@relay.test"}}.run(t, message(newMessageID(t), "x@relay.test", "x\n"))
			want := "Connected to 127.0.0.1 but authentication was rejected (" + tag + ").\nRemote host said: 535 5.7.8 "
			if len(reports) != 1 || reports[0].Letter != 'Z' || !strings.HasPrefix(reports[0].Text, want) {
				t.Fatalf("reports %v; want Z%q...", reports, want)
			}
			wantNoPassword(t, reports[0].Text)
		})
	}
}

// TestRelayNeedsAuth: without credentials Postfix refuses to relay, recipient by recipient.
func TestRelayNeedsAuth(t *testing.T) {
	t.Parallel()
	home := qmailHome(t, map[string]string{"smtproutes": "relay.test:127.0.0.1;" + peerSMTPPort + "\n"})
	reports := delivery{home: home, host: "relay.test", rcpt: []string{"someone@relay.test"}}.run(t, message(newMessageID(t), "x@relay.test", "x\n"))
	if len(reports) != 2 || reports[0].Letter != 'h' || !strings.Contains(reports[0].Text, "Relay access denied") || reports[1].Letter != 'D' {
		t.Fatalf("reports %v; want h ... Relay access denied, then D", reports)
	}
}

// TestAuthTranscript: mxout transport with --auth-file (mode 600) relays with PLAIN, the most
// revealing mechanism, and neither its transcript (-l), its output nor its log holds the
// password. A file that others may read is refused.
func TestAuthTranscript(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	authFile := filepath.Join(dir, "auth")
	if err := os.WriteFile(authFile, []byte("# relay user password\n127.0.0.1 "+saslUser+" "+saslPass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctl := transportControl(t)
	if err := os.WriteFile(filepath.Join(ctl, "authmechanisms"), []byte("PLAIN\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	id := newMessageID(t)
	path := filepath.Join(dir, "msg")
	if err := os.WriteFile(path, message(id, "tr@relay.test", "transcript test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	job := fmt.Sprintf(`{"id":"1","sender":%q,"recipients":["tr@relay.test"],"file":%q}`+"\n", sender, path)
	tr := filepath.Join(dir, "transcript")
	out, errOut := runTransport(t, []byte(job), "-F", "127.0.0.1:"+peerSMTPPort, "-C", ctl, "--auth-file", authFile, "-l", tr, "-v", "--json")
	waitRelayed(t, id)
	trData, err := os.ReadFile(tr)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)AUTH PLAIN \*\*\*$`).Match(trData) || !bytes.Contains(trData, []byte("235")) {
		t.Errorf("transcript without the AUTH exchange:\n%s", trData)
	}
	wantNoPassword(t, string(trData), out, errOut)

	if err := os.Chmod(authFile, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary(t, "mxout"), "transport", "-F", "127.0.0.1:"+peerSMTPPort, "--auth-file", authFile)
	cmd.Env = append(cleanEnv(), "MXOUT_DNS="+peerDNS)
	cmd.Stdin = strings.NewReader(job)
	outErr, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(outErr), "chmod 600") {
		t.Errorf("a world-readable auth file: err %v, output %s", err, outErr)
	}
}

// TestDomainIPsPostfix: a sender domain bound to 127.0.0.2 reaches Postfix from 127.0.0.2 with
// its HELO name (the Received header and the maillog say so); an address that cannot be used
// gives s/qmail's report.
func TestDomainIPsPostfix(t *testing.T) {
	t.Parallel()
	id := newMessageID(t)
	msg := message(id, "dips@example.test", "from 127.0.0.2\n")
	home := qmailHome(t, map[string]string{
		"smtproutes": "example.test:127.0.0.1:" + peerSMTPPort + "\n",
		"domainips":  "example.org:127.0.0.2|out.domainips.test\n*:127.0.0.3\n",
	})
	reports := delivery{home: home, host: "example.test", rcpt: []string{"dips@example.test"}}.run(t, msg)
	qid := wantAccepted(t, reports, 1, `127\.0\.0\.1`)
	got := waitMail(t, id, 1)
	if !bytes.Contains(got[0].head(), []byte("Received: from out.domainips.test (unknown [127.0.0.2])")) {
		t.Errorf("Received header does not show 127.0.0.2 and the HELO name:\n%s", got[0].head())
	}
	postfixLog(t, qid, "client=unknown[127.0.0.2]")

	bad := qmailHome(t, map[string]string{
		"smtproutes": "example.test:127.0.0.1:" + peerSMTPPort + "\n",
		"domainips":  "example.org:127.0.0.300\n",
	})
	reports = delivery{home: bad, host: "example.test", rcpt: []string{"dips@example.test"}}.run(t, msg)
	if len(reports) != 1 || reports[0].String() != `Z"Invalid ipaddr in control/domainips (#4.3.0)\n"` {
		t.Errorf("reports %v", reports)
	}
}
