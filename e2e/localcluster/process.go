package localcluster

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is one running component. Its output goes to logs/<name>.log and its
// PID to pids/<name>.pid, so that StopDir can find it without this struct.
type process struct {
	name   string
	bin    string
	args   []string
	env    []string
	dir    string // cluster dir
	detach bool

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // exit error, valid after done
}

func (p *process) logPath() string { return filepath.Join(p.dir, "logs", p.name+".log") }
func (p *process) pidPath() string { return filepath.Join(p.dir, "pids", p.name+".pid") }

// start runs the process. A detached process (the cluster CLI) gets its own
// session and outlives the caller. Otherwise it gets its own process group and
// is killed by the kernel when the calling process dies (Pdeathsig), so a
// killed test binary leaves nothing behind.
func (p *process) start() error {
	for _, d := range []string{filepath.Dir(p.logPath()), filepath.Dir(p.pidPath())} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	logf, err := os.OpenFile(p.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own copy
	fmt.Fprintf(logf, "==> %s %s %s\n", time.Now().Format(time.RFC3339), p.bin, strings.Join(p.args, " "))

	cmd := exec.Command(p.bin, p.args...)
	cmd.Dir = p.dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Env = append(os.Environ(), p.env...)
	if p.detach {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	}
	if err := startLocked(cmd); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.cmd = cmd
	p.done = make(chan struct{})
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return os.WriteFile(p.pidPath(), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644)
}

// exited reports whether the process has exited, and its error.
func (p *process) exited() (bool, error) {
	if p.done == nil {
		return true, nil
	}
	select {
	case <-p.done:
		if p.err == nil {
			return true, errors.New("exited")
		}
		return true, p.err
	default:
		return false, nil
	}
}

// stop terminates the process group gracefully, then forcibly.
func (p *process) stop(grace time.Duration) {
	if p.cmd == nil {
		return
	}
	pid := p.cmd.Process.Pid
	if grace <= 0 {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	} else {
		_ = syscall.Kill(-pid, syscall.SIGTERM)
	}
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-p.done
	}
	_ = os.Remove(p.pidPath())
	p.cmd = nil
}

// stopByPIDFile stops a process known only by its PID file (the CLI's down
// path). It signals the PID only if the process still runs from this cluster's
// directory, so a recycled PID is never hit.
func stopByPIDFile(dir, pidFile string, grace time.Duration) error {
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("%s: bad pid %q", pidFile, data)
	}
	if ours(pid, dir) {
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		_ = syscall.Kill(pid, syscall.SIGTERM)
		deadline := time.Now().Add(grace)
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if alive(pid) {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			for i := 0; alive(pid) && i < 100; i++ {
				time.Sleep(20 * time.Millisecond)
			}
			if alive(pid) {
				return fmt.Errorf("process %d (%s) did not exit", pid, filepath.Base(pidFile))
			}
		}
	}
	return os.Remove(pidFile)
}

// runningPIDs returns the PIDs of the live processes recorded in dir/pids.
func runningPIDs(dir string) map[string]int {
	out := map[string]int{}
	files, _ := filepath.Glob(filepath.Join(dir, "pids", "*.pid"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err == nil && ours(pid, dir) && alive(pid) {
			out[strings.TrimSuffix(filepath.Base(f), ".pid")] = pid
		}
	}
	return out
}

// ours reports whether pid's command line mentions the cluster directory:
// every component gets at least one path inside it as an argument.
func ours(pid int, dir string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	return bytes.Contains(cmdline, []byte(dir))
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return false
	}
	state := stat[i+2]
	return state != 'Z' && state != 'X'
}

// RSS returns the summed resident set size in bytes of the running processes
// recorded in dir (a cluster's state directory).
func RSS(dir string) (int64, map[string]int64, error) {
	per := map[string]int64{}
	var total int64
	for name, pid := range runningPIDs(dir) {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for line := range strings.SplitSeq(string(status), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				if err == nil {
					per[name] = kb * 1024
					total += kb * 1024
				}
			}
		}
	}
	if len(per) == 0 {
		return 0, nil, fmt.Errorf("no running component in %s", dir)
	}
	return total, per, nil
}
