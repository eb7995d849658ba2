package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// paveServe is a running `pave serve` (the part of e2e/daemon's harness
// this bench needs: start, the status API, the signed webhook).
type paveServe struct {
	cmd    *exec.Cmd
	url    string
	secret string
	done   chan struct{}
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func (e *env) startPave(kubeconfig, bare, logName string, args ...string) (*paveServe, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	probe, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(e.work, "serve-"+logName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	hook := filepath.Join(dir, "hook")
	if err := os.WriteFile(hook, []byte("hook-secret"), 0o600); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(e.work, logName+".log"))
	if err != nil {
		return nil, err
	}
	all := append([]string{"serve", "--listen", addr, "--probe-listen", probe,
		"--cluster", environment + "=" + kubeconfig,
		"--repo", "file://" + bare, "--branch", "main", "--cache-dir", filepath.Join(dir, "cache"),
		"--webhook-secret-file", hook, "--interval", "1h", "--resync-interval", "1h",
		"--concurrency", fmt.Sprint(e.o.concurrency), "--qps", fmt.Sprint(e.o.qps), "--burst", fmt.Sprint(e.o.burst)}, args...)
	cmd := exec.Command(e.pave, all...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	p := &paveServe{cmd: cmd, url: "http://" + addr, secret: "hook-secret", done: make(chan struct{})}
	go func() { cmd.Wait(); f.Close(); close(p.done) }()
	return p, nil
}

func (p *paveServe) stop() {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Kill()
		<-p.done
	}
}

type envStatus struct {
	Phase           string `json:"phase"`
	AppliedRevision string `json:"appliedRevision"`
}

type serviceStatus struct {
	Service      string                `json:"service"`
	Environments map[string]*envStatus `json:"environments"`
}

func (p *paveServe) get(path string, into any) error {
	resp, err := http.Get(p.url + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(into)
}

// settled counts the services of ids at revision in the environment: applied
// (health false) or Ready (health true).
func (p *paveServe) settled(ids []string, revision string, health bool) func() (bool, string, error) {
	return func() (bool, string, error) {
		select {
		case <-p.done:
			return false, "", fmt.Errorf("pave serve exited")
		default:
		}
		svcs := map[string]serviceStatus{}
		if len(ids) == 1 {
			var s serviceStatus
			if err := p.get("/api/v1/services/"+ids[0], &s); err != nil {
				return false, err.Error(), nil
			}
			svcs[ids[0]] = s
		} else {
			var body struct {
				Services []serviceStatus `json:"services"`
			}
			if err := p.get("/api/v1/services", &body); err != nil {
				return false, err.Error(), nil
			}
			for _, s := range body.Services {
				svcs[s.Service] = s
			}
		}
		n := 0
		for _, id := range ids {
			e := svcs[id].Environments[environment]
			if e != nil && e.AppliedRevision == revision && (!health || e.Phase == "Ready") {
				n++
			}
		}
		return n == len(ids), fmt.Sprintf("%d of %d done", n, len(ids)), nil
	}
}

// webhook sends a signed GitHub push event for revision.
func (p *paveServe) webhook(revision string) error {
	body := []byte(`{"ref":"refs/heads/main","after":"` + revision + `"}`)
	mac := hmac.New(sha256.New, []byte(p.secret))
	mac.Write(body)
	req, err := http.NewRequest(http.MethodPost, p.url+"/hooks/git", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("webhook: %s", resp.Status)
	}
	return nil
}

// rss is a process's resident memory in MiB.
func rss(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		var kb int
		if _, err := fmt.Sscanf(string(line), "VmRSS: %d kB", &kb); err == nil {
			return float64(kb) / 1024
		}
	}
	return 0
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
