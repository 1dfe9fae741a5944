package sasl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestSecretNeverPrints formats Credentials every way a log line might, and fails if the
// password or the token shows up.
func TestSecretNeverPrints(t *testing.T) {
	c := Credentials{Username: "tim", Password: NewSecret("tanstaaf-pw"), Token: NewSecret("ya29.token")}
	var out []string
	for _, verb := range []string{"%s", "%v", "%+v", "%#v", "%q", "%x", "%X", "%d", "%T"} {
		out = append(out, fmt.Sprintf(verb, c), fmt.Sprintf(verb, c.Password), fmt.Sprintf(verb, &c))
	}
	out = append(out, fmt.Sprint(c), fmt.Sprintln(c.Token), c.Password.String(), c.Token.GoString())
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(j))
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("auth", "creds", c, "pw", c.Password)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("auth", "creds", c, "tok", c.Token)
	out = append(out, logs.String())
	for _, s := range out {
		if strings.Contains(s, "tanstaaf-pw") || strings.Contains(s, "ya29") {
			t.Errorf("secret printed: %s", s)
		}
	}
	if got := fmt.Sprintf("%v", c.Password); got != "***" {
		t.Errorf("%%v of a Secret = %q, want ***", got)
	}
	if c.Password.Reveal() != "tanstaaf-pw" || c.Password.IsZero() || !(Secret{}).IsZero() {
		t.Error("Reveal/IsZero do not give the secret back")
	}
}
