package tlsrpt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Two Store values on one directory stand for two processes writing at once; no line is
// lost or mixed.
func TestStoreConcurrentWriters(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stores := []*Store{{Dir: dir}, {Dir: dir}}
	const each = 200
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				f := &Failure{ResultType: ValidationFailure, AdditionalInfo: fmt.Sprintf("writer %d result %d %s", i, j, strings.Repeat("x", 200))}
				if err := s.Add(Result{Time: day.Add(time.Duration(j) * time.Second), Policy: stsPolicy, Failure: f}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	results, skipped, err := stores[0].Day(day)
	if err != nil || skipped != 0 || len(results) != 2*each {
		t.Fatalf("Day = %d results, %d skipped, %v; want %d, 0, nil", len(results), skipped, err, 2*each)
	}
	agg := Build(results, day, testOptions)
	if len(agg) != 1 || agg[0].Report.Policies[0].Summary.Failed != 2*each {
		t.Errorf("Build over the concurrent writes = %+v", agg)
	}
}

func TestStoreBound(t *testing.T) {
	t.Parallel()
	s := &Store{Dir: t.TempDir(), MaxDaySize: 2000}
	n := 0
	var err error
	for ; n < 100; n++ {
		if err = s.Add(Result{Time: day, Policy: stsPolicy}); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrFull) || n == 0 || n == 100 {
		t.Fatalf("after %d results: %v; want ErrFull after a few", n, err)
	}
	st, err := os.Stat(s.dayPath(day))
	if err != nil || st.Size() > 2000 {
		t.Fatalf("day file %v, %v; want at most 2000 bytes", st, err)
	}
	// Another day has its own bound.
	if err := s.Add(Result{Time: day.Add(24 * time.Hour), Policy: stsPolicy}); err != nil {
		t.Errorf("next day: %v", err)
	}
}

func TestStoreCleansFields(t *testing.T) {
	t.Parallel()
	s := &Store{Dir: t.TempDir()}
	long := strings.Repeat("\"<&\x00é", 200)
	many := make([]string, 40)
	for i := range many {
		many[i] = long
	}
	in := Result{
		Time:    day.In(time.FixedZone("x", 3600)),
		Policy:  Policy{Type: PolicySTS, Domain: "Example.TEST.", Strings: many, MXHost: many},
		Failure: &Failure{ResultType: ValidationFailure, SendingMTAIP: long, ReceivingMXHostname: long, ReceivingMXHelo: long, ReceivingIP: long, AdditionalInfo: long, FailureReasonCode: long},
	}
	if err := s.Add(in); err != nil {
		t.Fatal(err)
	}
	if in.Failure.AdditionalInfo != long || len(in.Policy.Strings) != 40 {
		t.Fatal("Add changed the caller's result")
	}
	got, _, err := s.Day(day)
	if err != nil || len(got) != 1 {
		t.Fatalf("Day = %v, %v", got, err)
	}
	r := got[0]
	if r.Policy.Domain != "example.test" || len(r.Policy.Strings) != maxList || len(r.Policy.MXHost) != maxList || !r.Time.Equal(day) {
		t.Errorf("stored policy %+v at %v", r.Policy, r.Time)
	}
	for _, f := range []string{r.Policy.Strings[0], r.Failure.AdditionalInfo, r.Failure.ReceivingIP} {
		if len(f) > fieldLimit || strings.ContainsFunc(f, func(c rune) bool { return c < 0x20 || c > 0x7e }) {
			t.Errorf("stored field %q: longer than %d or not printable ASCII", f, fieldLimit)
		}
	}
}

func TestStoreSkipsBrokenLines(t *testing.T) {
	t.Parallel()
	s := &Store{Dir: t.TempDir()}
	if err := s.Add(Result{Time: day, Policy: stsPolicy}); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(s.dayPath(day), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("{\"time\":\"2026-11-29T01:00:00Z\",\"pol\n{}\n" + strings.Repeat("x", maxLine+1) + "\n")
	f.Close()
	got, skipped, err := s.Day(day)
	if len(got) != 1 || skipped != 2 || err == nil {
		t.Errorf("Day = %d results, %d skipped, %v; want 1, 2 and an error for the overlong line", len(got), skipped, err)
	}
	if got, skipped, err := (&Store{Dir: filepath.Join(t.TempDir(), "none")}).Day(day); got != nil || skipped != 0 || err != nil {
		t.Errorf("Day on a missing directory = %v, %d, %v", got, skipped, err)
	}
}

func TestStorePrune(t *testing.T) {
	t.Parallel()
	s := &Store{Dir: t.TempDir()}
	for d := range 5 {
		if err := s.Add(Result{Time: day.Add(time.Duration(d) * 24 * time.Hour), Policy: stsPolicy}); err != nil {
			t.Fatal(err)
		}
	}
	other := filepath.Join(s.Dir, "notes.txt")
	if err := os.WriteFile(other, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Prune(day.Add(3*24*time.Hour + time.Hour)); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(s.Dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := "2026-12-02.jsonl 2026-12-03.jsonl notes.txt"; strings.Join(names, " ") != want {
		t.Errorf("after Prune: %v, want %s", names, want)
	}
}
