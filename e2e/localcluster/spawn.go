package localcluster

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// The kernel delivers Pdeathsig when the *thread* that forked the child exits,
// not the process. Go may retire threads, so every child is started from one
// goroutine locked to its thread for the life of the process.
var (
	spawnOnce sync.Once
	spawnReqs chan spawnReq
)

type spawnReq struct {
	cmd  *exec.Cmd
	errc chan error
}

func startLocked(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnReqs = make(chan spawnReq)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the process
			for r := range spawnReqs {
				r.errc <- r.cmd.Start()
			}
		}()
	})
	errc := make(chan error, 1)
	spawnReqs <- spawnReq{cmd: cmd, errc: errc}
	return <-errc
}

// StartTied starts cmd so that the kernel kills it (SIGKILL) when the
// calling process dies, as the control plane's processes are: a test
// binary interrupted or killed leaves none of its children running.
func StartTied(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	return startLocked(cmd)
}
