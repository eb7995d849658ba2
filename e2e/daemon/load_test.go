package daemon

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/pave-dev/pave/e2e/testcluster"
)

// loadSample is what this machine's processes and the clusters' API
// servers had done by one moment: CPU seconds by process name (every
// control plane's processes of one kind together) and requests served by
// cluster, verb and resource. Two samples bracket a phase of a benchmark,
// to see where its time went: in pave, or in the API servers, and for
// which requests.
type loadSample struct {
	cpu      map[string]float64
	requests map[string]float64 // "cluster verb resource"
}

// clockTicks is the kernel's unit of /proc/PID/stat's CPU times (USER_HZ,
// 100 on Linux).
const clockTicks = 100

func sampleLoad(tb testing.TB, clusters []string) loadSample {
	tb.Helper()
	s := loadSample{cpu: map[string]float64{}, requests: map[string]float64{}}
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range procs {
		data, err := os.ReadFile(p)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid … utime stime: fields 14 and 15, counted
		// after the command name, which may hold spaces.
		open, end := bytes.IndexByte(data, '('), bytes.LastIndexByte(data, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(string(data[end+1:]))
		if len(fields) < 13 {
			continue
		}
		utime, _ := strconv.ParseFloat(fields[11], 64)
		stime, _ := strconv.ParseFloat(fields[12], 64)
		s.cpu[string(data[open+1:end])] += (utime + stime) / clockTicks
	}
	for _, cluster := range clusters {
		cs, err := kubernetes.NewForConfig(rest.CopyConfig(testcluster.ConfigFor(tb, cluster)))
		if err != nil {
			tb.Fatal(err)
		}
		raw, err := cs.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
		if err != nil {
			tb.Logf("read %s's API server metrics: %v", cluster, err)
			continue
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
		if err != nil {
			tb.Logf("parse %s's API server metrics: %v", cluster, err)
			continue
		}
		f := families["apiserver_request_total"]
		if f == nil {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			resource := labels["resource"]
			if sub := labels["subresource"]; sub != "" {
				resource += "/" + sub
			}
			s.requests[cluster+" "+labels["verb"]+" "+resource] += m.GetCounter().GetValue()
		}
	}
	return s
}

// since reports what happened between before and s: CPU seconds by
// process (those that used at least a tenth of a second) and the requests
// the API servers served (those counted at least ten times; WATCH is the
// number of watches opened).
func (s loadSample) since(before loadSample) string {
	var b strings.Builder
	cpu := map[string]float64{}
	total := 0.0
	for name, v := range s.cpu {
		if d := v - before.cpu[name]; d > 0 {
			cpu[name] = d
			total += d
		}
	}
	fmt.Fprintf(&b, "  CPU-s: %.1f in all;", total)
	names := slices.SortedFunc(maps.Keys(cpu), func(a, b string) int { return int(cpu[b]*100) - int(cpu[a]*100) })
	for _, name := range names {
		if cpu[name] >= 0.1 {
			fmt.Fprintf(&b, " %s %.1f", name, cpu[name])
		}
	}
	b.WriteString("\n  API requests:")
	req := map[string]float64{}
	for k, v := range s.requests {
		if d := v - before.requests[k]; d >= 10 {
			req[k] = d
		}
	}
	keys := slices.SortedFunc(maps.Keys(req), func(a, b string) int { return int(req[b]) - int(req[a]) })
	for _, k := range keys {
		fmt.Fprintf(&b, " %s %.0f;", k, req[k])
	}
	return b.String()
}
