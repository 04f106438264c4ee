package service

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// PortHolder names the process listening on addr's TCP port ("pid 1234
// (moisson)"), from /proc; "" when this machine does not tell (another
// user's process, not Linux).
func PortHolder(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return ""
	}
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			// sl local_address rem_address st ... inode (field 9)
			if len(fields) < 10 || fields[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, ok := strings.Cut(fields[1], ":")
			if n, err := strconv.ParseInt(hexPort, 16, 32); ok && err == nil && int(n) == port {
				inodes[fields[9]] = true
			}
		}
		fh.Close()
	}
	if len(inodes) == 0 {
		return ""
	}
	return processHolding(func(link string) bool {
		inode, ok := strings.CutPrefix(link, "socket:[")
		return ok && inodes[strings.TrimSuffix(inode, "]")]
	})
}

// processHolding names the first process with an open file whose link
// target (/proc/PID/fd/N) satisfies match.
func processHolding(match func(link string) bool) string {
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, proc := range procs {
		fds, err := os.ReadDir(filepath.Join(proc, "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if link, err := os.Readlink(filepath.Join(proc, "fd", fd.Name())); err == nil && match(link) {
				return describe(filepath.Base(proc))
			}
		}
	}
	return ""
}

// describe is "pid N (command)".
func describe(pid string) string {
	comm, err := os.ReadFile(filepath.Join("/proc", pid, "comm"))
	if err != nil {
		return "pid " + pid
	}
	return fmt.Sprintf("pid %s (%s)", pid, strings.TrimSpace(string(comm)))
}

// LockHolder names the process holding a POSIX or flock lock on path, from
// /proc/locks; "" when this machine does not tell.
func LockHolder(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	ino := inodeOf(fi)
	if ino == 0 {
		return ""
	}
	data, err := os.ReadFile("/proc/locks")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		// 1: FLOCK  ADVISORY  WRITE 1234 08:01:123456 0 EOF
		fields := strings.Fields(line)
		if len(fields) < 6 {
			continue
		}
		parts := strings.Split(fields[5], ":")
		if len(parts) == 3 && parts[2] == strconv.FormatUint(ino, 10) {
			return describe(fields[4])
		}
	}
	return ""
}
