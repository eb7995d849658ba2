// Command cluster starts and stops named local Kubernetes clusters for the
// demo (`make cluster-up`, `make cluster-down`). Each cluster lives in
// .cache/clusters/<name>/ with its kubeconfig, logs/ and pids/; its processes
// outlive this command.
//
//	go run ./e2e/cmd/cluster up [-nodes N] [NAME...]   # default: staging prod
//	go run ./e2e/cmd/cluster status [NAME...]
//	go run ./e2e/cmd/cluster down [NAME...]            # default: every cluster
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pave-dev/pave/e2e/localcluster"
)

var defaultClusters = []string{"staging", "prod"}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

func usage() error {
	return errors.New("usage: cluster up [-nodes N] [-timeout D] [NAME...] | status [NAME...] | down [NAME...]")
}

func run(args []string) error {
	if len(args) == 0 {
		return usage()
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	nodes := fs.Int("nodes", 2, "simulated nodes per cluster")
	timeout := fs.Duration("timeout", 3*time.Minute, "how long to wait for the clusters to be ready")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	root, err := localcluster.RepoRoot()
	if err != nil {
		return err
	}
	base := filepath.Join(root, ".cache", "clusters")
	names := fs.Args()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "up":
		if len(names) == 0 {
			names = defaultClusters
		}
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		return up(ctx, base, names, *nodes)
	case "down":
		if len(names) == 0 {
			names = existing(base)
		}
		return down(base, names)
	case "status":
		if len(names) == 0 {
			names = existing(base)
		}
		return status(ctx, base, names)
	default:
		return usage()
	}
}

// existing lists the clusters that have a state directory.
func existing(base string) []string {
	entries, _ := os.ReadDir(base)
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

func up(ctx context.Context, base string, names []string, nodes int) error {
	bins, err := localcluster.FindBinaries()
	if err != nil {
		return err
	}
	began := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(names))
	for i, name := range names {
		dir := filepath.Join(base, name)
		if len(localcluster.Running(dir)) == 5 {
			fmt.Printf("[%s] already up\n", name)
			continue
		}
		wg.Go(func() {
			_, errs[i] = localcluster.Start(ctx, localcluster.Options{
				Name:     name,
				Dir:      dir,
				Binaries: bins,
				Nodes:    nodes,
				Detach:   true,
				Progress: os.Stdout,
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Printf("clusters ready in %s; kubeconfigs:\n", time.Since(began).Round(100*time.Millisecond))
	for _, name := range names {
		fmt.Printf("  %-10s %s\n", name, filepath.Join(base, name, "kubeconfig"))
	}
	return nil
}

func down(base string, names []string) error {
	if len(names) == 0 {
		fmt.Println("no clusters")
		return nil
	}
	var errs []error
	for _, name := range names {
		dir := filepath.Join(base, name)
		if _, err := os.Stat(dir); err != nil {
			fmt.Printf("[%s] not running\n", name)
			continue
		}
		if err := localcluster.StopDir(dir); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		fmt.Printf("[%s] stopped, state removed\n", name)
	}
	return errors.Join(errs...)
}

func status(ctx context.Context, base string, names []string) error {
	if len(names) == 0 {
		fmt.Println("no clusters")
		return nil
	}
	for _, name := range names {
		dir := filepath.Join(base, name)
		running := localcluster.Running(dir)
		fmt.Printf("[%s] running: %s\n", name, orNone(running))
		if !slices.Contains(running, localcluster.APIServer) {
			continue
		}
		kubeconfig := filepath.Join(dir, "kubeconfig")
		fmt.Printf("[%s] kubeconfig: %s\n", name, kubeconfig)
		if rss, _, err := localcluster.RSS(dir); err == nil {
			fmt.Printf("[%s] memory: %d MiB RSS\n", name, rss>>20)
		}
		cfg, err := localcluster.RESTConfigFromKubeconfig(kubeconfig)
		if err != nil {
			return err
		}
		cfg.Timeout = 5 * time.Second
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return err
		}
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		fmt.Printf("[%s] /readyz: %s\n", name, strings.TrimSpace(string(body))+errString(err))
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			fmt.Printf("[%s] nodes: %v\n", name, err)
			continue
		}
		for _, n := range nodes.Items {
			ready := "NotReady"
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					ready = "Ready"
				}
			}
			fmt.Printf("[%s] node %s %s\n", name, n.Name, ready)
		}
	}
	return nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "nothing"
	}
	return strings.Join(s, ", ")
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return " " + err.Error()
}
