package cli

import (
	"errors"
	"path/filepath"
	"testing"
)

// TestStateDirDecision: MTA-STS is on with a usable directory, off when the default is missing,
// and a named directory that is not usable is a configuration error.
func TestStateDirDecision(t *testing.T) {
	usable := t.TempDir()
	missing := filepath.Join(usable, "missing")
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }

	f := &Flags{StateDir: usable}
	if dir, on, err := f.stateDir(getenv); !on || dir != usable || err != nil {
		t.Errorf("--state-dir usable: %q %v %v", dir, on, err)
	}
	f = &Flags{StateDir: missing}
	var ce *ConfigError
	if _, on, err := f.stateDir(getenv); on || !errors.As(err, &ce) {
		t.Errorf("--state-dir missing: on %v, err %v; want a ConfigError", on, err)
	}
	env["MXOUT_STATE"] = missing
	if _, on, err := (&Flags{}).stateDir(getenv); on || !errors.As(err, &ce) {
		t.Errorf("MXOUT_STATE missing: on %v, err %v; want a ConfigError", on, err)
	}
	env["MXOUT_STATE"] = usable
	if _, on, err := (&Flags{NoMTASTS: true}).stateDir(getenv); on || err != nil {
		t.Errorf("--no-mta-sts: on %v, err %v", on, err)
	}
	delete(env, "MXOUT_STATE")
	if dir, explicit := (&Flags{}).StateDirectory(getenv); dir != "/var/lib/mxout" || explicit {
		t.Errorf("default %q explicit %v", dir, explicit)
	}
}
