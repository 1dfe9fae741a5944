package mtasts

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParsePolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want *Policy // nil: refused
	}{
		{"rfc example", "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n",
			&Policy{Mode: ModeEnforce, MaxAge: 604800 * time.Second, MX: []string{"mail.example.com", "*.example.net", "backupmx.example.com"}}},
		{"lf, no final line end", "version: STSv1\nmode: testing\nmx: MX.Example.Test\nmax_age: 86400",
			&Policy{Mode: ModeTesting, MaxAge: 86400 * time.Second, MX: []string{"mx.example.test"}}},
		{"any order, blanks after values and colons", "max_age:0 \nmx:\t mx.example.test\t\nmode: enforce  \nversion: STSv1\n",
			&Policy{Mode: ModeEnforce, MX: []string{"mx.example.test"}}},
		{"trailing empty lines", "version: STSv1\nmode: none\nmax_age: 31557600\n\n \r\n",
			&Policy{Mode: ModeNone, MaxAge: MaxMaxAge}},
		{"extensions ignored", "version: STSv1\nmode: enforce\nx-ext: some value here\nx-ext: again\nmx: mx.example.test\nmax_age: 1\n",
			&Policy{Mode: ModeEnforce, MaxAge: time.Second, MX: []string{"mx.example.test"}}},
		{"none with mx", "version: STSv1\nmode: none\nmx: mx.example.test\nmax_age: 1\n",
			&Policy{Mode: ModeNone, MaxAge: time.Second, MX: []string{"mx.example.test"}}},
		{"max_age too big", "version: STSv1\nmode: enforce\nmx: mx.example.test\nmax_age: 31557601\n", nil},
		{"max_age 11 digits", "version: STSv1\nmode: enforce\nmx: mx.example.test\nmax_age: 00000000001\n", nil},
		{"max_age negative", "version: STSv1\nmode: enforce\nmx: mx.example.test\nmax_age: -1\n", nil},
		{"max_age not a number", "version: STSv1\nmode: enforce\nmx: mx.example.test\nmax_age: 1d\n", nil},
		{"no version", "mode: enforce\nmx: mx.example.test\nmax_age: 1\n", nil},
		{"no mode", "version: STSv1\nmx: mx.example.test\nmax_age: 1\n", nil},
		{"no max_age", "version: STSv1\nmode: enforce\nmx: mx.example.test\n", nil},
		{"enforce without mx", "version: STSv1\nmode: enforce\nmax_age: 1\n", nil},
		{"testing without mx", "version: STSv1\nmode: testing\nmax_age: 1\n", nil},
		{"wrong version", "version: STSv2\nmode: enforce\nmx: mx.example.test\nmax_age: 1\n", nil},
		{"mode upper case", "version: STSv1\nmode: ENFORCE\nmx: mx.example.test\nmax_age: 1\n", nil},
		{"unknown mode", "version: STSv1\nmode: report\nmx: mx.example.test\nmax_age: 1\n", nil},
		{"mode twice", "version: STSv1\nmode: testing\nmode: enforce\nmx: mx.example.test\nmax_age: 1\n", nil},
		{"field name upper case", "Version: STSv1\nmode: enforce\nmx: mx.example.test\nmax_age: 1\n", nil},
		{"leading blank", " version: STSv1\nmode: enforce\nmx: mx.example.test\nmax_age: 1\n", nil},
		{"empty line inside", "version: STSv1\n\nmode: enforce\nmx: mx.example.test\nmax_age: 1\n", nil},
		{"no colon", "version: STSv1\nmode enforce\nmx: mx.example.test\nmax_age: 1\n", nil},
		{"empty mx", "version: STSv1\nmode: enforce\nmx:\nmax_age: 1\n", nil},
		{"wildcard inside", "version: STSv1\nmode: enforce\nmx: mx.*.example.test\nmax_age: 1\n", nil},
		{"double wildcard", "version: STSv1\nmode: enforce\nmx: *.*.example.test\nmax_age: 1\n", nil},
		{"mx with port", "version: STSv1\nmode: enforce\nmx: mx.example.test:25\nmax_age: 1\n", nil},
		{"mx with final dot", "version: STSv1\nmode: enforce\nmx: mx.example.test.\nmax_age: 1\n", nil},
		{"mx bad hyphen", "version: STSv1\nmode: enforce\nmx: -mx.example.test\nmax_age: 1\n", nil},
		{"stray CR", "version: STSv1\rmode: enforce\nmx: mx.example.test\nmax_age: 1\n", nil},
		{"html", "<html><body>version: STSv1</body></html>", nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		got, err := ParsePolicy([]byte(tt.in))
		if tt.want == nil {
			if err == nil || !errors.Is(err, ErrPolicySyntax) {
				t.Errorf("%s: ParsePolicy = %+v, %v; want ErrPolicySyntax", tt.name, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: ParsePolicy: %v", tt.name, err)
			continue
		}
		if got.Text() != tt.in {
			t.Errorf("%s: Text() = %q, want the input", tt.name, got.Text())
		}
		tt.want.text = tt.in
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: ParsePolicy = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestParsePolicySize(t *testing.T) {
	t.Parallel()
	head := "version: STSv1\nmode: enforce\nmx: mx.example.test\nmax_age: 1\n"
	pad := func(n int) []byte { return []byte(head + "x-pad: " + strings.Repeat("a", n-len(head)-len("x-pad: "))) }
	if _, err := ParsePolicy(pad(MaxPolicySize)); err != nil {
		t.Errorf("policy of exactly %d bytes: %v", MaxPolicySize, err)
	}
	if _, err := ParsePolicy(pad(MaxPolicySize + 1)); !errors.Is(err, ErrPolicySyntax) {
		t.Errorf("policy of %d bytes: %v, want ErrPolicySyntax", MaxPolicySize+1, err)
	}
}

func TestPolicyLines(t *testing.T) {
	t.Parallel()
	p, err := ParsePolicy([]byte("version: STSv1\r\nmode: testing\r\nmx: mx.example.test\r\nmax_age: 86400\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"version: STSv1", "mode: testing", "mx: mx.example.test", "max_age: 86400"}
	if got := p.Lines(); !reflect.DeepEqual(got, want) {
		t.Errorf("Lines() = %q, want %q", got, want)
	}
}

func TestModeString(t *testing.T) {
	t.Parallel()
	for m, want := range map[Mode]string{ModeNone: "none", ModeTesting: "testing", ModeEnforce: "enforce", Mode(7): "Mode(7)"} {
		if got := m.String(); got != want {
			t.Errorf("Mode(%d).String() = %q, want %q", int(m), got, want)
		}
	}
	if !(ModeNone < ModeTesting && ModeTesting < ModeEnforce) {
		t.Error("modes are not ordered by what they demand")
	}
}
