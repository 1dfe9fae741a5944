package sasl

import (
	"errors"
	"testing"

	"github.com/mxout/mxout/internal/secret"
)

func TestChoose(t *testing.T) {
	password := pw("tim", "tanstaaf")
	token := Credentials{Username: "tim", Token: secret.New("ya29.x")}
	both := Credentials{Username: "tim", Password: secret.New("p"), Token: secret.New("t")}
	all := []string{"LOGIN", "PLAIN", "CRAM-MD5", "SCRAM-SHA-256", "XOAUTH2"}
	for _, tc := range []struct {
		name       string
		offered    []string
		creds      Credentials
		tls, clear bool
		want       string // mechanism name, or "" when err is wanted
		err        error
	}{
		{"all offered, tls", all, password, true, false, "SCRAM-SHA-256", nil},
		{"all offered, clear", all, password, false, false, "SCRAM-SHA-256", nil},
		{"lower case names", []string{"plain", "cram-md5"}, password, true, false, "CRAM-MD5", nil},
		{"cram before plain under tls", []string{"PLAIN", "LOGIN", "CRAM-MD5"}, password, true, false, "CRAM-MD5", nil},
		{"cram in clear", []string{"PLAIN", "CRAM-MD5"}, password, false, false, "CRAM-MD5", nil},
		{"plain over login", []string{"LOGIN", "PLAIN"}, password, true, false, "PLAIN", nil},
		{"login alone, tls", []string{"LOGIN"}, password, true, false, "LOGIN", nil},
		{"plain in clear refused", []string{"PLAIN", "LOGIN"}, password, false, false, "", ErrPlainInClear},
		{"plain in clear allowed", []string{"LOGIN", "PLAIN"}, password, false, true, "PLAIN", nil},
		{"login in clear allowed", []string{"LOGIN"}, password, false, true, "LOGIN", nil},
		{"nothing known", []string{"GSSAPI", "NTLM", "SCRAM-SHA-256-PLUS"}, password, true, false, "", ErrNoMechanism},
		{"nothing offered", nil, password, true, true, "", ErrNoMechanism},
		{"password never picks xoauth2", []string{"XOAUTH2"}, password, true, false, "", ErrNoMechanism},
		{"token, tls", all, token, true, false, "XOAUTH2", nil},
		{"token ignores password mechanisms", []string{"PLAIN", "SCRAM-SHA-256"}, token, true, false, "", ErrNoMechanism},
		{"token in clear refused", all, token, false, false, "", ErrPlainInClear},
		{"token in clear allowed", all, token, false, true, "XOAUTH2", nil},
		{"token wins over password", all, both, true, false, "XOAUTH2", nil},
		{"no username", all, Credentials{Password: secret.New("p")}, true, true, "", ErrCredentials},
		{"no secret", all, Credentials{Username: "tim"}, true, true, "", ErrCredentials},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Choose(tc.offered, tc.creds, tc.tls, tc.clear)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || m != nil {
					t.Fatalf("Choose = %v, %v; want nil, %v", m, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Choose: %v", err)
			}
			if name, _, err := m.Start(); name != tc.want || err != nil {
				t.Fatalf("chose %q (%v), want %q", name, err, tc.want)
			}
		})
	}
}
