package dns

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

func TestParseServers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string // nil means an error
	}{
		{"127.0.0.1", []string{"127.0.0.1:53"}},
		{"127.0.0.1:5353", []string{"127.0.0.1:5353"}},
		{" 127.0.0.1:1 , ::1 ,[::1]:54,[::1]", []string{"127.0.0.1:1", "[::1]:53", "[::1]:54", "[::1]:53"}},
		{"127.0.0.1,,", []string{"127.0.0.1:53"}},
		{"fe80::1%lo", []string{"[fe80::1%lo]:53"}},
		{"", nil},
		{" , ", nil},
		{"localhost", nil},
		{"localhost:53", nil},
		{"127.0.0.1:0", nil},
		{"127.0.0.1:65536", nil},
		{"127.0.0.1:domain", nil},
		{"127.0.0.1:", nil},
		{"[127.0.0.1]", []string{"127.0.0.1:53"}},
		{"[fe80::1%eth0]:53", []string{"[fe80::1%eth0]:53"}},
		{"[fe80::1%eth0]:53]", nil},
		{"fe80::1%eth0]:53", nil},
		{"[::1]]", nil},
		{"[::1]:", nil},
		{"127.0.0.1,bogus", nil},
	}
	for _, tt := range tests {
		got, err := parseServers(tt.in)
		if tt.want == nil {
			if err == nil {
				t.Errorf("parseServers(%q) = %v; want an error", tt.in, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("parseServers(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestFromEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	full := write("full", "# comment\nsearch example.test\nnameserver 127.0.0.1\nnameserver ::1\nnameserver not-an-ip\noptions timeout:3 attempts:4\n")
	empty := write("empty", "search example.test\n")
	tests := []struct {
		name, list, path string
		want             *Resolver // nil means an error
	}{
		{"env wins", "127.0.0.2:5300", full, &Resolver{Servers: []string{"127.0.0.2:5300"}}},
		{"bad env", "nowhere", full, nil},
		{"resolv.conf", "", full, &Resolver{Servers: []string{"127.0.0.1:53", "[::1]:53"}, Timeout: 3 * time.Second, Attempts: 4}},
		{"no nameserver", "", empty, &Resolver{Servers: []string{"127.0.0.1:53"}, Timeout: 5 * time.Second, Attempts: 2}},
		{"no file", "", filepath.Join(dir, "missing"), nil},
	}
	for _, tt := range tests {
		got, err := fromEnv(tt.list, tt.path)
		if tt.want == nil {
			if err == nil {
				t.Errorf("%s: fromEnv = %+v; want an error", tt.name, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: fromEnv = %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	var r Resolver
	if r.timeout() != 5*time.Second || r.attempts() != 2 {
		t.Errorf("zero Resolver: timeout %v, attempts %d; want 5s, 2", r.timeout(), r.attempts())
	}
	r = Resolver{Timeout: time.Second, Attempts: 1}
	if r.timeout() != time.Second || r.attempts() != 1 {
		t.Errorf("set Resolver: timeout %v, attempts %d; want 1s, 1", r.timeout(), r.attempts())
	}
}

func TestCheckResponse(t *testing.T) {
	t.Parallel()
	q := newQuery("example.test.", mdns.TypeMX)
	reply := func(edit func(m *mdns.Msg)) *mdns.Msg {
		m := new(mdns.Msg)
		m.SetReply(q)
		edit(m)
		return m
	}
	tests := []struct {
		name string
		resp *mdns.Msg
		ok   bool
	}{
		{"noerror", reply(func(*mdns.Msg) {}), true},
		{"name case differs", reply(func(m *mdns.Msg) { m.Question[0].Name = "EXAMPLE.test." }), true},
		{"nxdomain", reply(func(m *mdns.Msg) { m.Rcode = mdns.RcodeNameError }), true},
		{"servfail", reply(func(m *mdns.Msg) { m.Rcode = mdns.RcodeServerFailure }), false},
		{"refused", reply(func(m *mdns.Msg) { m.Rcode = mdns.RcodeRefused }), false},
		{"formerr", reply(func(m *mdns.Msg) { m.Rcode = mdns.RcodeFormatError }), false},
		{"unknown rcode", reply(func(m *mdns.Msg) { m.Rcode = 3000 }), false},
		{"other id", reply(func(m *mdns.Msg) { m.Id++ }), false},
		{"not a response", reply(func(m *mdns.Msg) { m.Response = false }), false},
		{"other opcode", reply(func(m *mdns.Msg) { m.Opcode = mdns.OpcodeNotify }), false},
		{"other name", reply(func(m *mdns.Msg) { m.Question[0].Name = "example.invalid." }), false},
		{"other type", reply(func(m *mdns.Msg) { m.Question[0].Qtype = mdns.TypeA }), false},
		{"other class", reply(func(m *mdns.Msg) { m.Question[0].Qclass = mdns.ClassCHAOS }), false},
		{"no question", reply(func(m *mdns.Msg) { m.Question = nil }), false},
		{"two questions", reply(func(m *mdns.Msg) { m.Question = append(m.Question, m.Question[0]) }), false},
		{"still truncated", reply(func(m *mdns.Msg) { m.Truncated = true }), false},
	}
	for _, tt := range tests {
		if err := checkResponse(q, tt.resp); (err == nil) != tt.ok {
			t.Errorf("%s: checkResponse = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}
