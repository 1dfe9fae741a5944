package tlsrpt

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"
)

func TestMessage(t *testing.T) {
	t.Parallel()
	a := buildRun(t)[0]
	msg, err := a.Message(MessageHeader{
		From: "tlsrpt@sender.example", To: "reports@example.test",
		Date: time.Date(2026, 11, 30, 1, 2, 3, 0, time.UTC), MessageID: "r1@mx.sender.example", Boundary: "b0undary",
	})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bytes.ReplaceAll(msg, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("a line ends in a bare LF")
	}
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := map[string]string{
		"From":                 "tlsrpt@sender.example",
		"To":                   "reports@example.test",
		"Subject":              "Report Domain: example.test Submitter: mx.sender.example Report-ID: <1795910400.example.test@mx.sender.example>",
		"Tls-Report-Domain":    "example.test",
		"Tls-Report-Submitter": "mx.sender.example",
		"Message-Id":           "<r1@mx.sender.example>",
		"Date":                 "Mon, 30 Nov 2026 01:02:03 +0000",
		"Mime-Version":         "1.0",
	}
	for k, v := range wantHeader {
		if got := m.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || params["report-type"] != "tlsrpt" || params["boundary"] != "b0undary" {
		t.Fatalf("Content-Type %q", m.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	text, err := mr.NextPart()
	if err != nil || !strings.HasPrefix(text.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("first part %v, %v; want text/plain", text, err)
	}
	att, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	if ct := att.Header.Get("Content-Type"); ct != "application/tlsrpt+gzip" {
		t.Errorf("attachment Content-Type %q", ct)
	}
	if _, p, err := mime.ParseMediaType(att.Header.Get("Content-Disposition")); err != nil || p["filename"] != a.Filename() {
		t.Errorf("Content-Disposition %q, want filename %q", att.Header.Get("Content-Disposition"), a.Filename())
	}
	raw, _ := io.ReadAll(att)
	gz, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(raw), "\r\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	_, js := gunzip(t, gz)
	validate(t, js)
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("after the attachment: %v, want the end", err)
	}
}

func TestMessageRefusesBadHeaders(t *testing.T) {
	t.Parallel()
	a := buildRun(t)[0]
	for _, h := range []MessageHeader{
		{From: "", To: "r@example.test"},
		{From: "Sender <s@sender.example>", To: "r@example.test"},
		{From: "s@sender.example", To: "r@example.test\r\nBcc: x@evil.test"},
		{From: "s@sender.example", To: "r@example.test", MessageID: "a>\r\nX: y"},
	} {
		if _, err := a.Message(h); err == nil {
			t.Errorf("Message(%+v) succeeded", h)
		}
	}
	anonymous := *a
	anonymous.Submitter = ""
	if _, err := anonymous.Message(MessageHeader{From: "s@sender.example", To: "r@example.test"}); err == nil {
		t.Error("a report without a submitter became a message")
	}
	evil := *a
	evil.PolicyDomain = "example.test\r\nBcc: x@evil.test"
	if _, err := evil.Message(MessageHeader{From: "s@sender.example", To: "r@example.test"}); err == nil {
		t.Error("a policy domain with CRLF went into a header")
	}
}
