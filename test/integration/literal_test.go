//go:build integration

package integration

import "testing"

// Address literals as the host argument and as smtproutes relays, IPv4 and IPv6: no DNS at all.
func TestAddressLiterals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, host, ip string
		control        map[string]string
		env            []string
	}{
		{"host [127.0.0.1]", "[127.0.0.1]", `127\.0\.0\.1`, map[string]string{"notipme": notLoopback}, []string{"MXOUT_SMTP_PORT=" + peerSMTPPort}},
		{"host [IPv6:::1]", "[IPv6:::1]", `::1`, map[string]string{"notipme": notLoopback}, []string{"MXOUT_SMTP_PORT=" + peerSMTPPort}},
		{"relay [::1]:port", "example.test", `::1`, map[string]string{"smtproutes": "example.test:[::1]:" + peerSMTPPort + "\n"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id, rcpt := newMessageID(t), "lena@example.test"
			msg := message(id, rcpt, "Delivered to an address literal.\n")
			reports := delivery{home: qmailHome(t, tt.control), env: tt.env, host: tt.host, rcpt: []string{rcpt}}.run(t, msg)
			wantAccepted(t, reports, 1, tt.ip)
			wantStored(t, waitMail(t, id, 1)[0], msg, rcpt)
		})
	}
}
