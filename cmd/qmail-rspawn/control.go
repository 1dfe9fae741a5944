package main

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Batching defaults: control/rspawnbatch absent.
const (
	defaultWindow  = 20 * time.Millisecond
	defaultMaxRcpt = 100 // RFC 5321 §4.5.3.1.8: a server must take at least 100 recipients
	maxWindow      = time.Second
	maxMaxRcpt     = 1000
	// defaultConcurrency is qmail-send's concurrencyremote when the file is absent.
	defaultConcurrency = 20
	// maxControlRead bounds what is read of these one-line files.
	maxControlRead = 4096
)

// batching is the content of control/rspawnbatch: how long requests for one message, sender and
// host may wait for each other, and how many recipients one transaction carries at most. A zero
// window turns batching off: every request is a transaction of its own (still on kept sessions).
type batching struct {
	window  time.Duration
	maxRcpt int
}

// parseBatching reads control/rspawnbatch's first line: "WINDOW_MS [MAX_RECIPIENTS]", such as
// "20 100"; "0" turns batching off. The window is at most 1000 ms and the cap 1 to 1,000. An
// absent file gives the defaults. A line that does not parse turns batching off: the
// reference's behaviour is the safe reading of a setting whose intent is unclear.
func parseBatching(data []byte, present bool) batching {
	if !present {
		return batching{window: defaultWindow, maxRcpt: defaultMaxRcpt}
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) == 0 || len(f) > 2 {
		return batching{}
	}
	ms, err := strconv.Atoi(f[0])
	// Compare in milliseconds: a huge number would overflow time.Duration into a negative window.
	if err != nil || ms < 0 || int64(ms) > maxWindow.Milliseconds() {
		return batching{}
	}
	b := batching{window: time.Duration(ms) * time.Millisecond, maxRcpt: defaultMaxRcpt}
	if len(f) == 2 {
		n, err := strconv.Atoi(f[1])
		if err != nil || n < 1 || n > maxMaxRcpt {
			return batching{}
		}
		b.maxRcpt = n
	}
	if b.window == 0 {
		return batching{}
	}
	return b
}

// parseConcurrency reads control/concurrencyremote as qmail-send does (its first line, a
// number; absent: 20) and caps it at 255, the most this spawner announces: the number of
// deliveries qmail-send will have in flight at most.
func parseConcurrency(data []byte, present bool) int {
	if !present {
		return defaultConcurrency
	}
	line, _, _ := strings.Cut(string(data), "\n")
	n, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || n < 1 {
		return defaultConcurrency
	}
	return min(n, 255)
}

// readControl reads a small control file of dir: its first maxControlRead bytes, and whether it
// exists and could be read.
func readControl(dir, name string) ([]byte, bool) {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return nil, false
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxControlRead))
	if err != nil {
		return nil, false
	}
	return data, true
}

// stamp sums up the state of the control directory (every file's name, size and modification
// time, following symbolic links), so that a changed file is noticed without reading it.
func stamp(dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "unreadable: " + err.Error()
	}
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e.Name())
		if fi, err := os.Stat(filepath.Join(dir, e.Name())); err == nil {
			b.WriteString(" " + strconv.FormatInt(fi.Size(), 10) + " " + strconv.FormatInt(fi.ModTime().UnixNano(), 10))
		}
		b.WriteByte('\n')
	}
	return b.String()
}
