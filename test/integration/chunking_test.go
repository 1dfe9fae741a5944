//go:build integration

package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// lfOnly is how the Postfix peer stores a message: every CRLF, lone CR and lone LF that mxout
// sent as CRLF is one LF.
func lfOnly(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\r"), []byte("\n"))
}

// postfixQueueID is the queue id in the Received header Postfix put on top, followed by ";" or,
// for one recipient, by a "for <...>" line.
func postfixQueueID(t *testing.T, m mailFile) string {
	t.Helper()
	s := regexp.MustCompile(`\(Postfix\) with \S+ id ([0-9A-Za-z]+)\b`).FindSubmatch(m.head())
	if s == nil {
		t.Fatalf("%s: no Postfix queue id", m.Path)
	}
	return string(s[1])
}

// sessionCommands returns Postfix's count of the SMTP commands of the session that received the
// message with queue id qid, from the smtpd "disconnect from" line of that session
// ("ehlo=2 starttls=1 mail=1 rcpt=1 bdat=3 quit=1 commands=9"). It polls the maillog from
// offset: the line is written when the session ends.
func sessionCommands(t *testing.T, qid string, offset int64) string {
	t.Helper()
	log := filepath.Join(peersDir(t), "postfix", "maillog")
	client := regexp.MustCompile(`postfix/smtpd\[(\d+)\]: ` + qid + `: client=`)
	deadline := time.Now().Add(mailWait)
	for {
		data, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		if offset <= int64(len(data)) {
			data = data[offset:]
		}
		if loc := client.FindSubmatchIndex(data); loc != nil {
			pid := string(data[loc[2]:loc[3]])
			disc := regexp.MustCompile(`postfix/smtpd\[` + pid + `\]: disconnect from \S+ (.*)`)
			if m := disc.FindSubmatch(data[loc[1]:]); m != nil {
				return string(m[1])
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no smtpd session of queue id %s ended in %s", qid, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTransportBDAT (RFC 3030): the Postfix peer offers CHUNKING, so mxout transport sends every
// message with BDAT: one chunk, a chunk of exactly 128 KiB, several chunks with the last one
// short or full; leading dots (never stuffed), bare LF, lone CR and CRLF mixed. Each message
// arrives byte for byte (with the peer's LF line ends) and Postfix counted BDAT, never DATA, in
// the session. With --no-chunking the same message goes by DATA.
func TestTransportBDAT(t *testing.T) {
	dir := t.TempDir()
	run := fmt.Sprintf("%d.%d", os.Getpid(), time.Now().UnixNano())
	bodies := map[string]string{
		"tiny":       ".\n",
		"edge cases": ".leading dot\n..two dots\r\nlone\rCR\n\r\n.\r\nlast line\r",
		"128k":       strings.Repeat(strings.Repeat("y", 1023)+"\n", 128),
		"multi":      strings.Repeat(".dotted line of text to fill chunks\r\n", 10000),
		"multi full": strings.Repeat(strings.Repeat("z", 1023)+"\n", 256),
	}
	type sentMsg struct {
		name, id string
		text     []byte
		chunking bool
	}
	var sent []sentMsg
	var jobs, plainJobs bytes.Buffer
	i := 0
	for name, body := range bodies {
		for _, chunking := range []bool{true, false} {
			i++
			id := fmt.Sprintf("<bdat.%s.%d@mxout-it.example.test>", run, i)
			rcpt := fmt.Sprintf("bdat%d@example.test", i)
			text := message(id, rcpt, body)
			if name == "128k" {
				// the whole wire text exactly 128 KiB: one chunk, no empty LAST
				head := len(bytes.ReplaceAll(message(id, rcpt, ""), []byte("\n"), []byte("\r\n")))
				text = message(id, rcpt, strings.Repeat("y", 128<<10-head-2)+"\n")
			}
			path := filepath.Join(dir, fmt.Sprint(i))
			if err := os.WriteFile(path, text, 0o600); err != nil {
				t.Fatal(err)
			}
			job, _ := json.Marshal(map[string]any{"id": name, "sender": sender, "recipients": []string{rcpt}, "file": path})
			if chunking {
				jobs.Write(append(job, '\n'))
			} else {
				plainJobs.Write(append(job, '\n'))
			}
			sent = append(sent, sentMsg{name, id, text, chunking})
		}
	}
	logStart := fileSize(t, filepath.Join(peersDir(t), "postfix", "maillog"))
	for _, in := range []struct {
		jobs []byte
		args []string
	}{
		{jobs.Bytes(), nil},
		{plainJobs.Bytes(), []string{"--no-chunking"}},
	} {
		args := append([]string{"-p", peerSMTPPort, "-C", transportControl(t)}, in.args...)
		out, errOut := runTransport(t, in.jobs, args...)
		if strings.Count(out, "\tok\t") != len(bodies) {
			t.Fatalf("statuses:\n%s\nstderr: %s", out, errOut)
		}
	}
	for _, s := range sent {
		m := waitMail(t, s.id, 1)[0]
		wantStored(t, m, lfOnly(s.text), m.deliveredTo())
		cmds := sessionCommands(t, postfixQueueID(t, m), logStart)
		bdat := regexp.MustCompile(`\bbdat=\d+`).MatchString(cmds)
		data := regexp.MustCompile(`\bdata=\d+`).MatchString(cmds)
		if bdat != s.chunking || data == s.chunking {
			t.Errorf("%s (chunking %v): Postfix counted %q", s.name, s.chunking, cmds)
		}
	}
}
