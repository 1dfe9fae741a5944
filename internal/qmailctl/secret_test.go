package qmailctl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	const pw = "hunter2-topsecret"
	rt := Route{Relay: "relay.test", Port: 587, User: "u", Password: pw}
	var outs []string
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%-8v"} {
		outs = append(outs, fmt.Sprintf(f, rt), fmt.Sprintf(f, rt.Password), fmt.Sprintf(f, &rt))
	}
	outs = append(outs, fmt.Sprint(rt), fmt.Sprintln(rt.Password), rt.Password.String(), rt.Password.GoString())
	outs = append(outs, fmt.Errorf("route %v: %w", rt, errors.New("x")).Error())
	j, err := json.Marshal(rt)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j))
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		l := slog.New(h)
		l.Info("route", "password", rt.Password, "route", rt)
		l.Info("route", slog.Any("pw", rt.Password), slog.Group("g", "pw", rt.Password))
	}
	outs = append(outs, buf.String())
	for _, o := range outs {
		if strings.Contains(o, pw) || strings.Contains(o, fmt.Sprintf("%x", pw)) || strings.Contains(o, fmt.Sprintf("%X", pw)) {
			t.Errorf("password printed: %s", o)
		}
	}
	if !strings.Contains(fmt.Sprintf("%+v", rt), "Password:[redacted]") {
		t.Errorf("%%+v = %+v", rt)
	}
	if rt.Password.Reveal() != pw {
		t.Error("Reveal lost the value")
	}
	if s := fmt.Sprintf("%v|%#v", Secret(""), Secret("")); s != `|qmailctl.Secret("")` {
		t.Errorf("empty secret prints %q", s)
	}
}
