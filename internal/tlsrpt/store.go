package tlsrpt

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	// DefaultMaxDaySize bounds one day's file when Store.MaxDaySize is 0: at about 300 bytes
	// a result, some 100,000 sessions a day. Results beyond it are dropped (ErrFull).
	DefaultMaxDaySize = 32 << 20
	// maxLine bounds one stored result. Fields are cut (fieldLimit bytes each, maxList list entries)
	// and made printable ASCII, so a line never exceeds it; reading refuses longer lines.
	maxLine    = 32 << 10
	fieldLimit = 255
	maxList    = 16
	dayLayout  = "2006-01-02"
	dayExt     = ".jsonl"
)

// ErrFull means the day's file reached its size bound; the result was not recorded.
var ErrFull = errors.New("tlsrpt: store full for the day")

// Store keeps results on disk, in Dir, one file per UTC day ("2026-11-30.jsonl"), one JSON
// object per line, shared by every mxout process.
//
// Why append-only without locks: each result is one write(2) of one line of at most 32 KiB
// to a file opened with O_APPEND, which the kernel places at the end of the file atomically
// on local file systems, so lines from concurrent processes never interleave. The price: a
// file system without atomic appends (NFS) can mix lines; the reader skips lines that do not
// parse. The size bound is checked before the write, so concurrent writers can overshoot it
// by a few lines.
//
// A Store is safe for concurrent use, within and across processes.
type Store struct {
	Dir        string // created on the first Add, mode 0755
	MaxDaySize int64  // bytes per day file; 0 means DefaultMaxDaySize
}

func (s *Store) maxDaySize() int64 {
	if s.MaxDaySize <= 0 {
		return DefaultMaxDaySize
	}
	return s.MaxDaySize
}

func (s *Store) dayPath(day time.Time) string {
	return filepath.Join(s.Dir, day.UTC().Format(dayLayout)+dayExt)
}

// Add appends r to the file of r.Time's UTC day. Text fields are cut to 255 bytes and lists to
// 16 entries, and bytes outside printable ASCII become '?': a report is no place for them, and
// it keeps every line under its bound. When the file has reached its bound, Add returns
// ErrFull and writes nothing.
func (s *Store) Add(r Result) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(clip(r)); err != nil { // one line, with its '\n'
		return fmt.Errorf("tlsrpt: store: %w", err)
	}
	line := buf.Bytes()
	if len(line) > maxLine {
		return fmt.Errorf("tlsrpt: store: result of %d bytes, more than %d", len(line), maxLine)
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return fmt.Errorf("tlsrpt: store: %w", err)
	}
	path := s.dayPath(r.Time)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("tlsrpt: store: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return fmt.Errorf("tlsrpt: store: %w", err)
	} else if st.Size()+int64(len(line)) > s.maxDaySize() {
		return fmt.Errorf("%w: %s", ErrFull, path)
	}
	if _, err := f.Write(line); err != nil {
		return fmt.Errorf("tlsrpt: store: writing %s: %w", path, err)
	}
	return nil
}

// clip cuts and cleans the fields of r so that its line stays under maxLine.
func clip(r Result) Result {
	p := &r.Policy
	p.Domain = clipString(strings.ToLower(strings.TrimSuffix(p.Domain, ".")))
	p.Strings = clipList(p.Strings)
	p.MXHost = clipList(p.MXHost)
	if r.Failure != nil {
		f := *r.Failure
		for _, s := range []*string{&f.SendingMTAIP, &f.ReceivingMXHostname, &f.ReceivingMXHelo, &f.ReceivingIP, &f.AdditionalInfo, &f.FailureReasonCode} {
			*s = clipString(*s)
		}
		r.Failure = &f
	}
	r.Time = r.Time.UTC()
	return r
}

// clipList keeps at most maxList entries: a policy-string or an mx list longer than that is noise
// in a report, and a line must stay bounded.
func clipList(l []string) []string {
	if len(l) > maxList {
		l = l[:maxList]
	}
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = clipString(s)
	}
	return out
}

func clipString(s string) string {
	if len(s) > fieldLimit {
		s = s[:fieldLimit]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}

// Day returns the results recorded for the UTC day that contains day, in file order. A
// missing file is no results. Lines that do not parse (a write cut short by a full disk) are
// skipped and counted in skipped.
func (s *Store) Day(day time.Time) (results []Result, skipped int, err error) {
	path := s.dayPath(day)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("tlsrpt: store: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, maxLine), maxLine)
	read := int64(0)
	for sc.Scan() {
		read += int64(len(sc.Bytes())) + 1
		if read > s.maxDaySize()+maxLine*64 { // the bound plus what racing writers can add
			return results, skipped, fmt.Errorf("tlsrpt: store: %s larger than its bound", path)
		}
		var r Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Policy.Domain == "" {
			skipped++
			continue
		}
		results = append(results, r)
	}
	if err := sc.Err(); err != nil {
		return results, skipped, fmt.Errorf("tlsrpt: store: reading %s: %w", path, err)
	}
	return results, skipped, nil
}

// Prune removes the day files of days before the UTC day that contains before. Other files
// in Dir are left alone.
func (s *Store) Prune(before time.Time) error {
	cut := before.UTC().Format(dayLayout)
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("tlsrpt: store: %w", err)
	}
	for _, e := range entries {
		day, ok := strings.CutSuffix(e.Name(), dayExt)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if _, err := time.Parse(dayLayout, day); err != nil || day >= cut {
			continue
		}
		if err := os.Remove(filepath.Join(s.Dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("tlsrpt: store: %w", err)
		}
	}
	return nil
}
