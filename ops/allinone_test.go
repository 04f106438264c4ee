package ops

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The README's first command, as a process: it harvests the simulated
// territories, says when everything is searchable, stops cleanly on Ctrl-C
// (SIGINT), and starts again on the same data directory with the same count.
func TestAllInOneProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs processes")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "moisson")
	build := exec.Command("go", "build", "-o", bin, "github.com/opendatafrance/moisson/cmd/moisson")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	data := filepath.Join(dir, "data")

	run := func() (total int64) {
		cmd := exec.Command(bin, "-addr", addr, "-data", data, "-sim-datasets", "30")
		out, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		lines := make(chan string, 1000)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		deadline := time.After(2 * time.Minute)
	wait:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatal("moisson exited before everything was searchable")
				}
				if strings.Contains(l, "everything harvested is searchable") {
					break wait
				}
			case <-deadline:
				t.Fatal("not searchable after 2 minutes")
			}
		}
		resp, err := http.Get("http://" + addr + "/v1/datasets?size=1")
		if err != nil {
			t.Fatal(err)
		}
		var ans struct {
			Total int64 `json:"total"`
		}
		json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		total = ans.Total

		// Ctrl-C.
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			for range lines {
			}
			done <- cmd.Wait()
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("moisson did not stop cleanly on SIGINT: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("moisson did not stop within 30 s of SIGINT")
		}
		return total
	}
	first := run()
	if first == 0 {
		t.Fatal("nothing indexed")
	}
	if again := run(); again != first {
		t.Errorf("after a restart the API reports %d datasets, before %d", again, first)
	}
}

// What stops the start is said at once, in one line, without a stack
// trace: a port taken (naming what holds it), a data directory that cannot
// be written.
func TestAllInOneStartFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs processes")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "moisson")
	build := exec.Command("go", "build", "-o", bin, "github.com/opendatafrance/moisson/cmd/moisson")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	holder := fmt.Sprintf("pid %d", os.Getpid())
	free := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"API port taken", []string{"-addr", taken.Addr().String(), "-data", filepath.Join(dir, "a")},
			[]string{"the API cannot listen on " + taken.Addr().String() + ": the port is taken, held by " + holder}},
		{"NATS port taken", []string{"-addr", free, "-nats-listen", taken.Addr().String(), "-data", filepath.Join(dir, "b")},
			[]string{"the embedded NATS server cannot listen on " + taken.Addr().String(), holder}},
		{"data directory not writable", []string{"-addr", free, "-data", "/proc/1"},
			[]string{"the directory /proc/1 cannot be written"}},
	} {
		start := time.Now()
		out, err := exec.Command(bin, tc.args...).CombinedOutput()
		took := time.Since(start)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("%s: %v, want exit status 1", tc.name, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%s: output lacks %q:\n%s", tc.name, w, out)
			}
		}
		if strings.Contains(string(out), "goroutine ") || strings.Contains(string(out), ".go:") {
			t.Errorf("%s: a stack trace:\n%s", tc.name, out)
		}
		if took > 2*time.Second {
			t.Errorf("%s: took %s, want under 2 s", tc.name, took)
		}
	}
}
