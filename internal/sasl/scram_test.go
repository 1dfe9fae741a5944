package sasl

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/xdg-go/scram"
)

// The example exchange of RFC 7677 §3 (user "user", password "pencil").
const (
	vecNonce       = "rOprNGfwEbeRWgbNEkqO"
	vecClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
	vecServerFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
	vecClientFinal = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
	vecServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
)

// exampleSCRAM returns the mechanism with the RFC's client nonce, after Start.
func exampleSCRAM(t *testing.T) Mechanism {
	t.Helper()
	m := &scramSHA256{c: pw("user", "pencil"), nonce: func() string { return vecNonce }}
	if got := start(t, m, "SCRAM-SHA-256"); string(got) != vecClientFirst {
		t.Fatalf("client-first = %q, want %q", got, vecClientFirst)
	}
	return m
}

func TestSCRAMExampleExchange(t *testing.T) {
	m := exampleSCRAM(t)
	if err := m.Finish(); !errors.Is(err, ErrServerSignature) {
		t.Errorf("Finish before the exchange = %v, want ErrServerSignature", err)
	}
	got, err := m.Next([]byte(vecServerFirst))
	if err != nil || string(got) != vecClientFinal {
		t.Fatalf("client-final = %q, %v; want %q", got, err, vecClientFinal)
	}
	if err := m.Finish(); !errors.Is(err, ErrServerSignature) {
		t.Errorf("235 before server-final: Finish = %v, want ErrServerSignature", err)
	}
	got, err = m.Next([]byte(vecServerFinal))
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("answer to server-final = %q, %v; want an empty response", got, err)
	}
	if err := m.Finish(); err != nil {
		t.Errorf("Finish after a good signature = %v", err)
	}
	if _, err := m.Next([]byte("v=again")); !errors.Is(err, ErrUnexpectedChallenge) {
		t.Errorf("fourth message: %v, want ErrUnexpectedChallenge", err)
	}
}

// TestSCRAMRefusals: each way a server can fail the exchange, with the error kind it must give.
func TestSCRAMRefusals(t *testing.T) {
	flipped := "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
	for _, tc := range []struct {
		name         string
		first, final string
		want         error
	}{
		{"wrong signature", vecServerFirst, flipped, ErrServerSignature},
		{"garbage final", vecServerFirst, "v=!!", ErrServerSignature},
		{"server error", vecServerFirst, "e=invalid-proof", ErrBadChallenge},
		{"nonce not ours", strings.Replace(vecServerFirst, "rOpr", "xOpr", 1), "", ErrBadChallenge},
		{"too few iterations", strings.Replace(vecServerFirst, "i=4096", "i=1", 1), "", ErrBadChallenge},
		{"too many iterations", strings.Replace(vecServerFirst, "i=4096", "i=2147483647", 1), "", ErrBadChallenge},
		{"no iterations", strings.Replace(vecServerFirst, ",i=4096", "", 1), "", ErrBadChallenge},
		{"not scram", "hello", "", ErrBadChallenge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := exampleSCRAM(t)
			_, err := m.Next([]byte(tc.first))
			if tc.final != "" {
				if err != nil {
					t.Fatalf("server-first refused: %v", err)
				}
				_, err = m.Next([]byte(tc.final))
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if err := m.Finish(); !errors.Is(err, ErrServerSignature) {
				t.Errorf("Finish after a failed exchange = %v, want ErrServerSignature", err)
			}
		})
	}
}

// TestSCRAMAgainstServer runs the mechanism against github.com/xdg-go/scram's server side for
// several credentials (SASLprep included: the stored form uses a different Unicode spelling),
// then with a wrong password, which the server must refuse.
func TestSCRAMAgainstServer(t *testing.T) {
	users := map[string]string{
		"user":            "pencil",
		"tim@example.com": "tanstaaf tanstaaf",
		"with,comma=eq":   "p,=ss",
		"ümlaut":          "I\u00ADX", // soft hyphen: SASLprep maps it to nothing
		"long":            strings.Repeat("x", 300),
	}
	lookup := func(user string) (scram.StoredCredentials, error) {
		p, ok := users[user]
		if !ok {
			return scram.StoredCredentials{}, fmt.Errorf("no user %q", user)
		}
		if user == "ümlaut" {
			p = "IX" // what the server stored: the prepared form
		}
		c, err := scram.SHA256.NewClient(user, p, "")
		if err != nil {
			return scram.StoredCredentials{}, err
		}
		return c.GetStoredCredentialsWithError(scram.KeyFactors{Salt: "salt-" + user, Iters: 4096})
	}
	srv, err := scram.SHA256.NewServer(lookup)
	if err != nil {
		t.Fatal(err)
	}
	for user, pass := range users {
		for _, wrong := range []bool{false, true} {
			if wrong {
				pass += "!"
			}
			t.Run(fmt.Sprintf("%s/wrong=%v", user, wrong), func(t *testing.T) {
				m := NewSCRAMSHA256(pw(user, pass))
				conv := srv.NewConversation()
				msg := start(t, m, "SCRAM-SHA-256")
				for step := 1; !conv.Done(); step++ {
					challenge, serr := conv.Step(string(msg))
					if serr != nil {
						if !wrong || step != 2 {
							t.Fatalf("server refused at step %d: %v", step, serr)
						}
						if _, err := m.Next([]byte(challenge)); !errors.Is(err, ErrBadChallenge) {
							t.Errorf("client took the server's %q as %v", challenge, err)
						}
						return
					}
					if msg, err = m.Next([]byte(challenge)); err != nil {
						t.Fatalf("client step %d: %v", step, err)
					}
				}
				if wrong {
					t.Fatal("server accepted a wrong password")
				}
				if !conv.Valid() || m.Finish() != nil {
					t.Errorf("server valid %v, client Finish %v", conv.Valid(), m.Finish())
				}
			})
		}
	}
}
