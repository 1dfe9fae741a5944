package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// holder is a struct as callers have them: a route or credentials with a Secret inside.
type holder struct {
	User     string
	Password Secret
	Token    Secret
}

// TestNeverPrints formats a Secret and a struct holding one every way a log line might, and
// fails if the value (or its hex form) shows up.
func TestNeverPrints(t *testing.T) {
	const pw, tok = "hunter2-topsecret", "ya29.token-value"
	h := holder{User: "u", Password: New(pw), Token: New(tok)}
	var outs []string
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%-8v", "%T"} {
		outs = append(outs, fmt.Sprintf(f, h), fmt.Sprintf(f, h.Password), fmt.Sprintf(f, &h))
	}
	outs = append(outs, fmt.Sprint(h), fmt.Sprintln(h.Password), h.Password.String(), h.Token.GoString())
	outs = append(outs, fmt.Errorf("route %v: %w", h, errors.New("x")).Error())
	j, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j))
	var buf bytes.Buffer
	for _, hd := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		l := slog.New(hd)
		l.Info("route", "password", h.Password, "h", h)
		l.Info("route", slog.Any("pw", h.Password), slog.Group("g", "pw", h.Token))
	}
	outs = append(outs, buf.String())
	for _, o := range outs {
		for _, v := range []string{pw, tok} {
			if strings.Contains(o, v) || strings.Contains(o, fmt.Sprintf("%x", v)) || strings.Contains(o, fmt.Sprintf("%X", v)) {
				t.Errorf("secret printed: %s", o)
			}
		}
	}
	if got := fmt.Sprintf("%+v", h); !strings.Contains(got, "Password:[redacted]") {
		t.Errorf("%%+v = %s", got)
	}
	if h.Password.Reveal() != pw || h.Password.IsZero() || !(Secret{}).IsZero() || !New("").IsZero() {
		t.Error("Reveal/IsZero do not give the secret back")
	}
	if s := fmt.Sprintf("%v|%#v", Secret{}, Secret{}); s != `|secret.Secret("")` {
		t.Errorf("empty secret prints %q", s)
	}
	if New("a") != New("a") || New("a") == New("b") {
		t.Error("secrets must compare by value (routes are compared in tests and group keys)")
	}
}
