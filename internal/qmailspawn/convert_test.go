package qmailspawn

import (
	"testing"
)

func TestConvert(t *testing.T) {
	tests := []struct{ name, out, want string }{
		{"accepted", "r\x00K1.2.3.4 accepted message.\nRemote host said: 250 ok\n\x00",
			"K1.2.3.4 accepted message.\nRemote host said: 250 ok\n"},
		{"refused permanently", "h1.2.3.4 does not like recipient.\nRemote host said: 550 no\n\x00DGiving up on 1.2.3.4.\n\x00",
			"D1.2.3.4 does not like recipient.\nRemote host said: 550 no\nGiving up on 1.2.3.4.\n"},
		{"refused temporarily", "s1.2.3.4 does not like recipient.\nRemote host said: 451 later\n\x00DGiving up on 1.2.3.4.\n\x00",
			"Z1.2.3.4 does not like recipient.\nRemote host said: 451 later\nGiving up on 1.2.3.4.\n"},
		{"refused while others were accepted", "h1.2.3.4 does not like recipient.\nRemote host said: 550 no\n\x00K1.2.3.4 accepted message.\n\x00",
			"D1.2.3.4 does not like recipient.\nRemote host said: 550 no\n"},
		{"temporary refusal, message accepted", "s1.2.3.4 does not like recipient.\n\x00Kok\n\x00",
			"Z1.2.3.4 does not like recipient.\n"},
		{"accepted, then died", "r\x00ZConnected to 1.2.3.4 but connection died. Possible duplicate! (#4.4.2)\n\x00",
			"ZConnected to 1.2.3.4 but connection died. Possible duplicate! (#4.4.2)\n"},
		{"accepted, then failed after the dot", "r\x00D1.2.3.4 failed after I sent the message.\n\x00",
			"D1.2.3.4 failed after I sent the message.\n"},
		{"message report only", "ZSorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n\x00",
			"ZSorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n"},
		{"D only", "DSorry, I couldn't find any host named x. (#5.1.2)\n\x00", "DSorry, I couldn't find any host named x. (#5.1.2)\n"},
		{"no output", "", ReportNoOutput},
		{"no NUL", "Kabc", "D"},
		{"no message report", "r\x00", "D"},
		{"garbage letter", "x\x00", "D"},
		{"unterminated message report", "r\x00Kabc", "Dabc"},
		{"empty first part", "\x00Kfoo\x00", "KKfoo"},
		{"text after a NUL is not copied", "r\x00Kab\x00cd\x00", "Kab"},
	}
	for _, tt := range tests {
		if got := string(Convert([]byte(tt.out))); got != tt.want {
			t.Errorf("%s: Convert(%q) = %q, want %q", tt.name, tt.out, got, tt.want)
		}
	}
	if got := string(Outcome{Output: []byte("r\x00Kx\x00"), Crashed: true}.Report()); got != ReportCrashed {
		t.Errorf("crashed: %q", got)
	}
}
