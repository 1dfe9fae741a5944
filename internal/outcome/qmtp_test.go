package outcome

import (
	"testing"

	"github.com/mxout/mxout/internal/qmtp"
)

func TestFromQMTP(t *testing.T) {
	for _, tt := range []struct {
		r      qmtp.Response
		status Status
		dsn    string
	}{
		{qmtp.Response{Status: 'K', Text: "2.6.0 Message accepted."}, Delivered, "2.0.0"},
		{qmtp.Response{Status: 'K', Text: "ok (#2.0.0)"}, Delivered, "2.0.0"},
		{qmtp.Response{Status: 'D', Text: "no such user here (#5.1.1)"}, Failed, "5.1.1"},
		{qmtp.Response{Status: 'Z', Text: "deferred by test policy (#4.3.0)"}, Deferred, "4.3.0"},
		{qmtp.Response{Status: 'Z', Text: "class disagrees (#5.1.1)"}, Deferred, "4.0.0"},
		{qmtp.Response{Status: 'D', Text: "broken (#5.x.1) (#"}, Failed, "5.0.0"},
	} {
		o := FromQMTP(tt.r)
		if o.Status != tt.status || o.DSN != tt.dsn || o.QMTP == nil || o.Protocol != "qmtp" {
			t.Errorf("FromQMTP(%c%s) = %v %s", tt.r.Status, tt.r.Text, o.Status, o.DSN)
		}
		if d := o.Describe(); d != "QMTP: "+tt.r.String() {
			t.Errorf("Describe = %q", d)
		}
	}
}
