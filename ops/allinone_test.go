package ops

import (
	"bufio"
	"encoding/json"
	"fmt"
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
