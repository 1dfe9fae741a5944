package transport

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/mxout/mxout/internal/smtp"
)

func TestReaderJobs(t *testing.T) {
	in := `{"id":"q-1","sender":"a@example.org","recipients":["b@example.com","c@example.com"],"file":"/spool/1"}

{"id":"q-2","sender":"<>","recipients":["d@example.com"],"file":"/spool/2","host":"[192.0.2.1]","ret":"HDRS","envid":"x1","notify":"SUCCESS,FAILURE","orcpt":["rfc822;d@example.com"]}
not json
{"id":"q-4","recipients":["e@x"],"file":"f","colour":"red"}
{"id":"q-5","recipients":[],"file":"f"}
{"id":"q-6","recipients":["e@x"],"file":"f","notify":"NEVER,SUCCESS"}
{"id":"q-7","recipients":["e@x"],"file":"f","orcpt":["a","b"]}
{"id":7,"recipients":["e@x"],"file":"f"}
{"id":"q-9","recipients":["e@x"],"file":"f"} {"id":"q-10"}
{"id":"q-11","recipients":["e@x"],"file":"f"}`
	r := NewReader(strings.NewReader(in))
	type want struct {
		id   string
		line int
		bad  string
	}
	wants := []want{
		{"q-1", 1, ""}, {"q-2", 3, ""}, {"-", 4, "not JSON"}, {"q-4", 5, "unknown field"},
		{"q-5", 6, `no "recipients"`}, {"q-6", 7, `"notify"`}, {"q-7", 8, `"orcpt"`},
		{"-", 9, "wrong type"}, {"q-9", 10, "more than one"}, {"q-11", 11, ""},
	}
	for _, w := range wants {
		j, err := r.Next()
		var bj *BadJob
		switch {
		case w.bad == "" && err != nil:
			t.Fatalf("line %d: %v", w.line, err)
		case w.bad == "" && j.ID != w.id:
			t.Errorf("line %d: id %q, want %q", w.line, j.ID, w.id)
		case w.bad != "" && !errors.As(err, &bj):
			t.Fatalf("line %d: got %v, %v; want a BadJob", w.line, j, err)
		case w.bad != "" && (bj.ID != w.id || bj.Line != w.line || !strings.Contains(bj.Error(), w.bad)):
			t.Errorf("line %d: BadJob %+v, want id %q and %q", w.line, bj, w.id, w.bad)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("after the last line: %v, want EOF", err)
	}
}

func TestReaderNullSender(t *testing.T) {
	j, err := ParseJob([]byte(`{"id":"1","sender":"<>","recipients":["a@b"],"file":"f"}`), 1)
	if err != nil || j.Sender != "" {
		t.Errorf("ParseJob = %+v, %v; want the null sender", j, err)
	}
}

func TestReaderLongLine(t *testing.T) {
	long := `{"id":"x","recipients":["` + strings.Repeat("a", MaxJobLine) + `"],"file":"f"}`
	in := long + "\n" + `{"id":"after","recipients":["a@b"],"file":"f"}` + "\n"
	r := NewReader(strings.NewReader(in))
	_, err := r.Next()
	var bj *BadJob
	if !errors.As(err, &bj) || !strings.Contains(bj.Reason, "longer than") || bj.Line != 1 {
		t.Fatalf("over-long line: %v", err)
	}
	j, err := r.Next()
	if err != nil || j.ID != "after" {
		t.Fatalf("the line after an over-long one: %+v, %v", j, err)
	}
}

// FuzzParseJob: any line gives a job or a BadJob, never a panic; a job always has an id, a
// file and recipients, and its ORCPT list fits its recipients.
func FuzzParseJob(f *testing.F) {
	f.Add([]byte(`{"id":"q-1","sender":"a@example.org","recipients":["b@example.com"],"file":"/s/1"}`))
	f.Add([]byte(`{"id":"q-2","recipients":["d@x"],"file":"f","ret":"FULL","notify":"DELAY","orcpt":["rfc822;d@x"]}`))
	f.Add([]byte(`{"id":`))
	f.Add([]byte("\x00\xff"))
	f.Fuzz(func(t *testing.T, line []byte) {
		j, err := ParseJob(line, 1)
		if err != nil {
			var bj *BadJob
			if !errors.As(err, &bj) || bj.ID == "" {
				t.Fatalf("error %v is not a BadJob with an id", err)
			}
			return
		}
		if j.ID == "" || j.File == "" || len(j.Recipients) == 0 || (j.ORcpt != nil && len(j.ORcpt) != len(j.Recipients)) {
			t.Fatalf("invalid job accepted: %+v", j)
		}
	})
}

// TestJobDSNChecked: DSN values that cannot be sent refuse the job before anything is sent.
func TestJobDSNChecked(t *testing.T) {
	for _, line := range []string{
		`{"id":"1","recipients":["a@b"],"file":"f","envid":"ä"}`,
		`{"id":"1","recipients":["a@b"],"file":"f","envid":"` + strings.Repeat("=", 40) + `"}`,
		`{"id":"1","recipients":["a@b"],"file":"f","orcpt":["x400;ä"]}`,
		`{"id":"1","recipients":["a@b"],"file":"f","orcpt":["rfc822;a\r\nb"]}`,
	} {
		var bj *BadJob
		if _, err := ParseJob([]byte(line), 1); !errors.As(err, &bj) {
			t.Errorf("%s: %v, want a BadJob", line, err)
		}
	}
}

// TestRunnerJobDSN: a job's own ret, envid and notify win over the flags' defaults, ORCPT comes
// from the job only and follows its recipients into their groups.
func TestRunnerJobDSN(t *testing.T) {
	r := &Runner{DSN: smtp.DSN{Ret: "FULL", EnvID: "default", Notify: "FAILURE", ORcpt: []string{"ignored"}}}
	j := &Job{Recipients: []string{"a@x", "b@y", "c@x"}, Ret: "hdrs", ORcpt: []string{"rfc822;a@x", "", "rfc822;c@x"}}
	d := r.jobDSN(j, []int{0, 2})
	if d.Ret != "HDRS" || d.EnvID != "default" || d.Notify != "FAILURE" || strings.Join(d.ORcpt, " ") != "rfc822;a@x rfc822;c@x" {
		t.Errorf("got %+v", d)
	}
	if d := r.jobDSN(&Job{Recipients: []string{"a@x"}}, []int{0}); d.ORcpt != nil || d.Ret != "FULL" {
		t.Errorf("without job fields: %+v", d)
	}
}
