package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/mxout/mxout/internal/dns/dnstest"
	"github.com/mxout/mxout/internal/smtptest"
)

func TestCheckUsage(t *testing.T) {
	t.Setenv("MXOUT_DNS", "ns.example.test") // only the case without --dns reads it
	t.Setenv("MXOUT_SMTP_PORT", "")
	tests := []struct {
		name string
		args []string
		code int
		err  string // in stderr
	}{
		{"help", []string{"--help"}, 0, "usage: mxout check [flags] DOMAIN"},
		{"no domain", []string{"--json"}, 64, "usage: mxout check"},
		{"two domains", []string{"a.test", "b.test"}, 64, "usage: mxout check"},
		{"bad port", []string{"-p", "x", "--dns", "127.0.0.1", "a.test"}, 64, `bad port "x"`},
		{"port zero", []string{"-p", "0", "--dns", "127.0.0.1", "a.test"}, 64, `bad port "0"`},
		{"dns by name", []string{"--dns", "ns.example.test", "a.test"}, 64, "not an IP address"},
		{"bad timeout", []string{"--timeout", "-1s", "--dns", "127.0.0.1", "a.test"}, 64, "--timeout must be positive"},
		{"unknown flag", []string{"-z", "a.test"}, 64, "flag provided but not defined: -z"},
		{"bad MXOUT_DNS", []string{"a.test"}, 78, "MXOUT_DNS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := runCheck(tt.args, &stdout, &stderr); code != tt.code {
				t.Errorf("exit %d; want %d (stderr %q)", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.err) || stdout.Len() != 0 {
				t.Errorf("stderr %q, stdout %q; want %q on stderr only", stderr.String(), stdout.String(), tt.err)
			}
		})
	}
}

// TestCheckJSON runs the command against a fake DNS server and a scripted SMTP server on
// loopback, with the flags after the domain.
func TestCheckJSON(t *testing.T) {
	const session = `
< 220 mx1.example.test ESMTP
> EHLO client.example.test
< 250-mx1.example.test
< 250 8BITMIME
! eof-or-quit
`
	srv := smtptest.StartOpts(t, smtptest.Options{}, session, session)
	port := strconv.Itoa(int(srv.AddrPort().Port()))
	ns := dnstest.Start(t, dnstest.Zone{
		"example.test. MX":                          {Answer: []string{"example.test. 300 IN MX 10 mx1.example.test."}},
		"mx1.example.test. A":                       {Answer: []string{"mx1.example.test. 300 IN A 127.0.0.1"}},
		"mx1.example.test. AAAA":                    {},
		"_" + port + "._tcp.mx1.example.test. TLSA": {},
	})
	var stdout, stderr bytes.Buffer
	code := runCheck([]string{"example.test", "--json", "-p", port, "--dns", ns.Addr(), "-h", "client.example.test", "--timeout", "5s"}, &stdout, &stderr)
	if code != 0 || stderr.Len() != 0 {
		t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, stderr.String())
	}
	var rep struct {
		Port uint16 `json:"port"`
		MX   struct {
			DNSSEC string `json:"dnssec"`
		} `json:"mx"`
		Verdict struct {
			Action, Host, Address, Policy string
		} `json:"verdict"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("%v in %s", err, stdout.Bytes())
	}
	v := rep.Verdict
	if rep.Port != srv.AddrPort().Port() || rep.MX.DNSSEC != "insecure" || v.Action != "deliver" || v.Host != "mx1.example.test" ||
		v.Address != "[127.0.0.1]:"+port || v.Policy != "opportunistic" {
		t.Errorf("report %+v from %s", rep, stdout.Bytes())
	}
}
