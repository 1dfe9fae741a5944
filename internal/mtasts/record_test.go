package mtasts

import (
	"errors"
	"testing"
)

func TestParseRecord(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in string
		id string // "" means the record is refused
	}{
		{"v=STSv1; id=20160831085700Z;", "20160831085700Z"},
		{"v=STSv1; id=20160831085700Z", "20160831085700Z"},
		{"v=STSv1;id=abc", "abc"},
		{"v=STSv1 ;\tid=abc ; ", "abc"},
		{"v=STSv1; id=abc; ext-1.x=some:value", "abc"},
		{"v=STSv1; ext=1; id=abc", "abc"},
		{"v=STSv1; id=" + "a1234567890123456789012345678901", "a1234567890123456789012345678901"}, // 32
		{"v=STSv1; id=" + "a12345678901234567890123456789012", ""},                                // 33
		{"v=STSv1", ""},
		{"v=STSv1;", ""},
		{"v=STSv1; ", ""},
		{"v=STSv1; id=", ""},
		{"v=STSv1; id=a-b", ""},
		{"v=STSv1; id=abc;;", ""},
		{"v=STSv1;; id=abc", ""},
		{"v=STSv1; id=abc; id=abd", ""},
		{"v=STSv1; ID=abc", ""}, // %s: field names are case-sensitive; no id
		{"V=STSv1; id=abc", ""},
		{"v=STSv2; id=abc", ""},
		{"v=STSv1 id=abc", ""},
		{"v=STSv1; id=abc; _bad=1", ""},
		{"v=STSv1; id=abc; ext=a b", ""},
		{"v=STSv1; id=abc; ext=", ""},
		{"v=STSv1; id=abc; noequals", ""},
		{" v=STSv1; id=abc", ""},
	}
	for _, tt := range tests {
		rec, err := ParseRecord(tt.in)
		switch {
		case tt.id == "" && err == nil:
			t.Errorf("ParseRecord(%q) = %+v, want an error", tt.in, rec)
		case tt.id == "" && !errors.Is(err, ErrRecordSyntax):
			t.Errorf("ParseRecord(%q) error %v does not wrap ErrRecordSyntax", tt.in, err)
		case tt.id != "" && (err != nil || rec.ID != tt.id):
			t.Errorf("ParseRecord(%q) = %+v, %v; want id %q", tt.in, rec, err, tt.id)
		}
	}
}

func TestSelectRecord(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		txts []string
		id   string
		err  error
	}{
		{"one", []string{"v=spf1 -all", "v=STSv1; id=a1"}, "a1", nil},
		{"none", []string{"v=spf1 -all", "v=STSv10; id=a1"}, "", ErrNoRecord},
		{"empty", nil, "", ErrNoRecord},
		{"two", []string{"v=STSv1; id=a1", "v=STSv1; id=a2"}, "", ErrMultipleRecords},
		{"broken", []string{"v=STSv1; id=a_1"}, "", ErrRecordSyntax},
		{"bare version counts", []string{"v=STSv1", "v=STSv1; id=a1"}, "", ErrMultipleRecords},
	}
	for _, tt := range tests {
		rec, err := SelectRecord(tt.txts)
		if rec.ID != tt.id || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("%s: SelectRecord = %+v, %v; want id %q, error %v", tt.name, rec, err, tt.id, tt.err)
		}
	}
}
