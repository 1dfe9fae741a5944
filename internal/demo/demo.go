// Package demo is `mxout demo`: one real delivery through the whole stack to an SMTP server it
// starts itself on loopback, shown step by step. It needs no installed MTA, no root and no
// network beyond 127.0.0.1.
package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mxout/mxout/internal/qmailremote"
	"github.com/mxout/mxout/internal/sink"
)

// sample is the message the demo sends: a line that needs dot-stuffing and one with 8-bit
// text show the encoder and BODY=8BITMIME at work.
const sample = "From: Demo Sender <demo@sender.test>\n" +
	"To: alice@example.test, bob@example.test\n" +
	"Subject: mxout demo\n" +
	"Content-Type: text/plain; charset=utf-8\n" +
	"\n" +
	"Hello from mxout.\n" +
	".This line starts with a dot, so it goes out as \"..This\".\n" +
	"Grüße, 8-bit text travels with BODY=8BITMIME.\n"

// Run performs the demo and writes what happens to w.
func Run(ctx context.Context, w io.Writer) error {
	srv := &sink.Server{Name: "sink.example.test", MaxSize: 10 << 20}
	var got []sink.Message
	srv.OnMessage = func(m sink.Message) { got = append(got, m) }
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		return err
	}
	defer srv.Close()

	home, err := os.MkdirTemp("", "mxout-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(home)
	route := "example.test:" + srv.Addr().String()
	if err := writeControl(home, map[string]string{"me": "demo.mxout.test", "smtproutes": route}); err != nil {
		return err
	}
	args := []string{"example.test", "demo@sender.test", "alice@example.test", "bob@example.test"}
	fmt.Fprintf(w, "mxout demo: one delivery through routing, session and a pipelined transaction\n\n")
	fmt.Fprintf(w, "SMTP sink listening on %s\n", srv.Addr())
	fmt.Fprintf(w, "QMAILHOME=%s with control/smtproutes: %s\n", home, route)
	fmt.Fprintf(w, "$ qmail-remote %s < message\n\n", strings.Join(args, " "))

	var transcript bytes.Buffer
	getenv := func(k string) string {
		if k == "QMAILHOME" {
			return home
		}
		return ""
	}
	rep := qmailremote.Report(ctx, args, strings.NewReader(sample), getenv, &transcript)

	fmt.Fprintf(w, "SMTP transcript (C: mxout, S: the server):\n%s\n", indent(transcript.String()))
	fmt.Fprintf(w, "qmail-remote report on stdout (each NUL shown as \\0):\n%s\n", indent(visible(rep)))
	for _, m := range got {
		fmt.Fprintf(w, "The server received a message from <%s> to %v, %d bytes on the wire.\n", m.From, m.To, len(m.Data))
	}
	if len(got) != 1 || !bytes.HasPrefix(rep[bytes.LastIndexByte(rep[:len(rep)-1], 0)+1:], []byte("K")) {
		return fmt.Errorf("demo: the delivery did not succeed")
	}
	return nil
}

func writeControl(home string, files map[string]string) error {
	dir := filepath.Join(home, "control")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content+"\n"), 0o644); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	return nil
}

// visible shows a report with its NULs and line ends made readable.
func visible(rep []byte) string {
	return strings.ReplaceAll(string(rep), "\x00", "\\0\n")
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	return "    " + strings.ReplaceAll(s, "\n", "\n    ") + "\n"
}
