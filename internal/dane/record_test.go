package dane

import (
	"bytes"
	"testing"
)

func TestUsable(t *testing.T) {
	t.Parallel()
	d32, d64 := bytes.Repeat([]byte{0xab}, 32), bytes.Repeat([]byte{0xcd}, 64)
	cases := []struct {
		name string
		r    Record
		want bool
	}{
		{"DANE-EE SPKI SHA2-256", Record{3, 1, 1, d32}, true},
		{"DANE-EE Cert SHA2-512", Record{3, 0, 2, d64}, true},
		{"DANE-EE SPKI Full", Record{3, 1, 0, []byte{0x30, 0x00}}, true},
		{"DANE-TA Cert SHA2-256", Record{2, 0, 1, d32}, true},
		{"DANE-TA SPKI SHA2-512", Record{2, 1, 2, d64}, true},
		{"DANE-TA Cert Full", Record{2, 0, 0, []byte{1}}, true},
		{"PKIX-TA", Record{0, 0, 1, d32}, false},
		{"PKIX-EE", Record{1, 1, 1, d32}, false},
		{"usage 4", Record{4, 1, 1, d32}, false},
		{"usage 255 (PrivCert)", Record{255, 1, 1, d32}, false},
		{"selector 2", Record{3, 2, 1, d32}, false},
		{"selector 255 (PrivSel)", Record{3, 255, 1, d32}, false},
		{"matching type 3", Record{3, 1, 3, d32}, false},
		{"matching type 255 (PrivMatch)", Record{3, 1, 255, d32}, false},
		{"SHA2-256 with 31 bytes", Record{3, 1, 1, d32[:31]}, false},
		{"SHA2-256 with 33 bytes", Record{3, 1, 1, append(d32, 0)}, false},
		{"SHA2-256 with SHA2-512 length", Record{3, 1, 1, d64}, false},
		{"SHA2-512 with SHA2-256 length", Record{2, 0, 2, d32}, false},
		{"Full with no data", Record{3, 1, 0, nil}, false},
		{"zero Record", Record{}, false},
	}
	for _, tc := range cases {
		got := Usable([]Record{tc.r})
		if (len(got) == 1) != tc.want || len(got) > 1 {
			t.Errorf("%s: Usable kept %d records; want usable=%v", tc.name, len(got), tc.want)
		}
	}

	// Order is kept, and only usable records come back.
	var all, want []Record
	for _, tc := range cases {
		all = append(all, tc.r)
		if tc.want {
			want = append(want, tc.r)
		}
	}
	got := Usable(all)
	if len(got) != len(want) {
		t.Fatalf("Usable(all) kept %d records; want %d", len(got), len(want))
	}
	for i := range got {
		if describe(got[i]) != describe(want[i]) || !bytes.Equal(got[i].Data, want[i].Data) {
			t.Errorf("Usable(all)[%d] = %s; want %s", i, describe(got[i]), describe(want[i]))
		}
	}
	if got := Usable(nil); got != nil {
		t.Errorf("Usable(nil) = %v; want nil", got)
	}
}
