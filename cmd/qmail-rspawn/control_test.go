package main

import (
	"testing"
	"time"
)

func TestParseBatching(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		data    string
		present bool
		want    batching
	}{
		{"", false, batching{20 * ms, 100}},
		{"20\n", true, batching{20 * ms, 100}},
		{"5 30\n", true, batching{5 * ms, 30}},
		{"  7\t1000  \nignored\n", true, batching{7 * ms, 1000}},
		{"1000 1\n", true, batching{1000 * ms, 1}},
		{"0\n", true, batching{}},
		{"0 50\n", true, batching{}},
		{"", true, batching{}},
		{"1001\n", true, batching{}},
		{"20 0\n", true, batching{}},
		{"20 1001\n", true, batching{}},
		{"-5\n", true, batching{}},
		{"20ms\n", true, batching{}},
		{"20 100 3\n", true, batching{}},
	}
	for _, tt := range tests {
		if got := parseBatching([]byte(tt.data), tt.present); got != tt.want {
			t.Errorf("parseBatching(%q, %v) = %+v, want %+v", tt.data, tt.present, got, tt.want)
		}
	}
}

func TestParseConcurrency(t *testing.T) {
	tests := []struct {
		data    string
		present bool
		want    int
	}{
		{"", false, 20},
		{"50\n", true, 50},
		{"300\n", true, 255},
		{"0\n", true, 20},
		{"x\n", true, 20},
		{" 7 \n9\n", true, 7},
	}
	for _, tt := range tests {
		if got := parseConcurrency([]byte(tt.data), tt.present); got != tt.want {
			t.Errorf("parseConcurrency(%q, %v) = %d, want %d", tt.data, tt.present, got, tt.want)
		}
	}
}

// FuzzControl: whatever the files hold, the settings stay within their bounds.
func FuzzControl(f *testing.F) {
	for _, s := range []string{"20 100\n", "0\n", "1000 1", "x", "-1 -1", "99999999999999999999"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b := parseBatching(data, true)
		if b.window < 0 || b.window > maxWindow || b.window > 0 && (b.maxRcpt < 1 || b.maxRcpt > maxMaxRcpt) {
			t.Errorf("%q: %+v", data, b)
		}
		if n := parseConcurrency(data, true); n < 1 || n > 255 {
			t.Errorf("%q: concurrency %d", data, n)
		}
	})
}
