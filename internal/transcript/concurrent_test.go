package transcript

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// body is a line whose integrity can be checked: its writer, number and length, then that many
// copies of one letter. Lengths go up to 3,900 octets, so that torn writes would show.
func body(writer, i int) string {
	n := (writer*997 + i*131) % 3900
	return fmt.Sprintf("w%d-%d-%d ", writer, i, n) + strings.Repeat(string(rune('a'+(writer+i)%26)), n)
}

// checkLines reads a transcript and fails on any line that is not whole; it returns how many
// lines each "pid wN" wrote.
func checkLines(t *testing.T, path string) map[string]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	counts := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for ln := 1; sc.Scan(); ln++ {
		pid, rest, ok1 := strings.Cut(sc.Text(), " > ")
		head, letters, ok2 := strings.Cut(rest, " ")
		var writer, i, n int
		_, err := fmt.Sscanf(head, "w%d-%d-%d", &writer, &i, &n)
		if !ok1 || !ok2 || err != nil || rest != body(writer, i) || len(letters) != n {
			t.Fatalf("line %d torn or interleaved: %.120q", ln, sc.Text())
		}
		counts[pid+" w"+strconv.Itoa(writer)]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return counts
}

// TestConcurrentGoroutines: eight Writers on one *os.File and eight goroutines sharing one
// Writer; every line comes out whole.
func TestConcurrentGoroutines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "transcript")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const perWriter = 300
	shared := New(f, Options{PID: 2})
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := shared
			if g < 8 {
				w = New(f, Options{PID: 1})
			}
			for i := 0; i < perWriter; i++ {
				w.Client(body(g, i))
			}
		}()
	}
	wg.Wait()
	counts := checkLines(t, path)
	for g := 0; g < 16; g++ {
		pid := "2"
		if g < 8 {
			pid = "1"
		}
		if c := counts[pid+" w"+strconv.Itoa(g)]; c != perWriter {
			t.Errorf("writer %d: %d lines, want %d", g, c, perWriter)
		}
	}
}

// TestConcurrentProcesses runs this test binary twice at once (helperEnv selects
// helperProcess), each process opening the file itself with Open, as two qmail-remote -l do.
func TestConcurrentProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "transcript")
	var cmds []*exec.Cmd
	for p := 0; p < 2; p++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
		cmd.Env = append(os.Environ(), helperEnv+"="+path, "TRANSCRIPT_HELPER_WRITER="+strconv.Itoa(p))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper process: %v", err)
		}
	}
	counts := checkLines(t, path)
	for p, cmd := range cmds {
		key := strconv.Itoa(cmd.Process.Pid) + " w" + strconv.Itoa(p)
		if counts[key] != helperLines {
			t.Errorf("process %s: %d lines, want %d (all: %v)", key, counts[key], helperLines, counts)
		}
	}
}

const (
	helperEnv   = "TRANSCRIPT_HELPER_FILE"
	helperLines = 2000
)

// TestHelperProcess is the child of TestConcurrentProcesses; run directly it does nothing.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		return
	}
	writer, _ := strconv.Atoi(os.Getenv("TRANSCRIPT_HELPER_WRITER"))
	w, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < helperLines; i++ {
		w.Client(body(writer, i))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
