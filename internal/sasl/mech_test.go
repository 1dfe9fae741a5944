package sasl

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/mxout/mxout/internal/secret"
)

func pw(user, pass string) Credentials {
	return Credentials{Username: user, Password: secret.New(pass)}
}

// start runs Start and fails the test on error or a wrong name.
func start(t *testing.T, m Mechanism, wantName string) []byte {
	t.Helper()
	name, initial, err := m.Start()
	if err != nil || name != wantName {
		t.Fatalf("Start() = %q, _, %v; want %q", name, err, wantName)
	}
	return initial
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// TestPlainVectors checks the RFC 4616 §4 examples, decoded and as the base64 the SMTP layer
// will send.
func TestPlainVectors(t *testing.T) {
	for _, tc := range []struct {
		c       Credentials
		want    string
		wantB64 string
	}{
		{pw("tim", "tanstaaftanstaaf"), "\x00tim\x00tanstaaftanstaaf", "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"},
		{Credentials{Authzid: "Ursel", Username: "Kurt", Password: secret.New("xipj3plmq")}, "Ursel\x00Kurt\x00xipj3plmq", "VXJzZWwAS3VydAB4aXBqM3BsbXE="},
	} {
		m := NewPlain(tc.c)
		got := start(t, m, "PLAIN")
		if string(got) != tc.want || b64(got) != tc.wantB64 {
			t.Errorf("PLAIN initial = %q (%s), want %q (%s)", got, b64(got), tc.want, tc.wantB64)
		}
		if _, err := m.Next([]byte("more?")); !errors.Is(err, ErrUnexpectedChallenge) {
			t.Errorf("PLAIN Next = %v, want ErrUnexpectedChallenge", err)
		}
		if err := m.Finish(); err != nil {
			t.Errorf("PLAIN Finish = %v", err)
		}
	}
}

func TestPlainRefusesNULAndEmpty(t *testing.T) {
	for _, c := range []Credentials{
		pw("ti\x00m", "x"),
		pw("tim", "pa\x00ss"),
		{Authzid: "a\x00b", Username: "tim", Password: secret.New("x")},
		pw("", "x"),
		pw("tim", ""),
	} {
		if _, _, err := NewPlain(c).Start(); !errors.Is(err, ErrCredentials) {
			t.Errorf("PLAIN Start(%q) = %v, want ErrCredentials", c.Username, err)
		}
	}
}

// TestLoginAnswersByOrder gives LOGIN prompts in another language: the answers still follow
// the order, and a third challenge is an error.
func TestLoginAnswersByOrder(t *testing.T) {
	m := NewLogin(pw("tim", "tanstaaftanstaaf"))
	if initial := start(t, m, "LOGIN"); initial != nil {
		t.Fatalf("LOGIN initial = %q, want none", initial)
	}
	for i, want := range []string{"tim", "tanstaaftanstaaf"} {
		got, err := m.Next([]byte("Benutzername:"))
		if err != nil || string(got) != want {
			t.Fatalf("LOGIN step %d = %q, %v; want %q", i+1, got, err, want)
		}
	}
	if _, err := m.Next([]byte("again?")); !errors.Is(err, ErrUnexpectedChallenge) {
		t.Errorf("LOGIN third Next = %v, want ErrUnexpectedChallenge", err)
	}
	if _, _, err := NewLogin(pw("tim", "")).Start(); !errors.Is(err, ErrCredentials) {
		t.Errorf("LOGIN without password: %v, want ErrCredentials", err)
	}
}

// TestCRAMMD5Example is the example exchange of RFC 2195 §2, in base64 as on the wire.
func TestCRAMMD5Example(t *testing.T) {
	m := NewCRAMMD5(pw("tim", "tanstaaftanstaaf"))
	if initial := start(t, m, "CRAM-MD5"); initial != nil {
		t.Fatalf("CRAM-MD5 initial = %q, want none", initial)
	}
	ch, err := base64.StdEncoding.DecodeString("PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+")
	if err != nil || string(ch) != "<1896.697170952@postoffice.reston.mci.net>" {
		t.Fatalf("test vector: %q %v", ch, err)
	}
	got, err := m.Next(ch)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "tim b913a602c7eda7a495b4e6e7334d3890" || b64(got) != "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw" {
		t.Errorf("CRAM-MD5 response = %q (%s)", got, b64(got))
	}
	if _, err := m.Next(ch); !errors.Is(err, ErrUnexpectedChallenge) {
		t.Errorf("second Next = %v, want ErrUnexpectedChallenge", err)
	}
	m = NewCRAMMD5(pw("tim", "tanstaaftanstaaf"))
	start(t, m, "CRAM-MD5")
	if _, err := m.Next(nil); !errors.Is(err, ErrBadChallenge) {
		t.Errorf("empty challenge: %v, want ErrBadChallenge", err)
	}
}

func TestXOAUTH2(t *testing.T) {
	c := Credentials{Username: "someuser@example.com", Token: secret.New("ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg")}
	m := NewXOAUTH2(c)
	got := start(t, m, "XOAUTH2")
	want := "user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"
	if string(got) != want {
		t.Fatalf("XOAUTH2 initial = %q, want %q", got, want)
	}
	// The error path: the server's JSON challenge is answered with an empty line, once.
	resp, err := m.Next([]byte(`{"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}`))
	if err != nil || resp == nil || len(resp) != 0 {
		t.Fatalf("XOAUTH2 error challenge answered %q, %v; want an empty response", resp, err)
	}
	if _, err := m.Next([]byte("{}")); !errors.Is(err, ErrUnexpectedChallenge) {
		t.Errorf("second challenge: %v, want ErrUnexpectedChallenge", err)
	}
	for _, bad := range []Credentials{
		{Username: "a\x01auth=Bearer x", Token: secret.New("t")},
		{Username: "a", Token: secret.New("t\x01\x01")},
		{Username: "a"},
	} {
		if _, _, err := NewXOAUTH2(bad).Start(); !errors.Is(err, ErrCredentials) {
			t.Errorf("XOAUTH2 Start(%q) = %v, want ErrCredentials", bad.Username, err)
		}
	}
}
