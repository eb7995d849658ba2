package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pave-dev/pave/render"
)

// DriftEvent is one field of a live object that differs from what pave
// applied, with the field manager that changed it.
type DriftEvent struct {
	Object ObjectRef
	// Field is the path, e.g. spec.template.spec.containers[0].image.
	Field string
	// Manager is the field manager that changed it (e.g. kubectl-edit),
	// from the object's managedFields; "" when unknown.
	Manager   string
	Operation string
	Time      time.Time
	Corrected bool
}

func (d DriftEvent) String() string {
	who := d.Manager
	if who == "" {
		who = "an unknown manager"
	}
	return fmt.Sprintf("%s changed %s on %s", who, d.Field, d.Object)
}

// detectDrift compares every object with a server-side dry-run of what pave
// would apply, and attributes each changed field to its field manager. An
// object that drifted to another owner (relabelled, replaced) refuses the
// service: its ownership is checked on the live object the dry-run read,
// without another request. An unchanged object carries this service's
// labels, so it is its own.
func (a *Applier) detectDrift(ctx context.Context, res *render.Result, inv *Inventory, objects []*unstructured.Unstructured) ([]DriftEvent, error) {
	var events []DriftEvent
	var refused []string
	m, err := a.manager(res.Team)
	if err != nil {
		return nil, err
	}
	for _, o := range objects {
		mgr := m
		if isNamespace(o) {
			mgr = a.Cluster.Manager
		}
		entry, live, merged, err := mgr.Diff(ctx, o.DeepCopy(), ssa.DefaultDiffOptions())
		if err != nil {
			return nil, fmt.Errorf("drift check of %s: %w", RefOf(o), err)
		}
		if entry == nil || entry.Action != ssa.ConfiguredAction || live == nil || merged == nil {
			continue
		}
		if p := ownershipProblem(res, inv, o, live); p != "" {
			refused = append(refused, p)
			continue
		}
		ref := RefOf(o)
		// The diff's live object has its managedFields stripped: read them.
		current := &unstructured.Unstructured{}
		current.SetGroupVersionKind(o.GroupVersionKind())
		if err := a.Cluster.Client.Get(ctx, client.ObjectKeyFromObject(o), current); err != nil {
			return nil, fmt.Errorf("drift check of %s: %w", ref, err)
		}
		managers := parseManagers(current)
		changed := diffPaths(strip(live.Object), strip(merged.Object), nil, nil)
		if len(changed) == 0 {
			// Metadata only (e.g. pave's labels removed).
			changed = []changedPath{{display: "metadata"}}
		}
		for _, p := range changed {
			ev := DriftEvent{Object: ref, Field: p.display}
			if m := ownerOf(managers, p.segments); m != nil {
				ev.Manager, ev.Operation, ev.Time = m.name, m.operation, m.time
			}
			events = append(events, ev)
		}
	}
	if len(refused) > 0 {
		return events, &RefusalError{Problems: refused}
	}
	return events, nil
}

// strip removes what the server owns from an object before comparing.
func strip(obj map[string]any) map[string]any {
	c := make(map[string]any, len(obj))
	for k, v := range obj {
		if k != "status" {
			c[k] = v
		}
	}
	if md, ok := obj["metadata"].(map[string]any); ok {
		m := make(map[string]any, len(md))
		for k, v := range md {
			switch k {
			case "managedFields", "resourceVersion", "generation", "creationTimestamp", "uid", "selfLink":
			default:
				m[k] = v
			}
		}
		c["metadata"] = m
	}
	return c
}

type changedPath struct {
	display  string
	segments []string // fieldsV1 segments: f:spec, k:{"name":"app"}, ...
}

// diffPaths lists the leaf paths where live and desired differ.
func diffPaths(live, desired any, display []string, segs []string) []changedPath {
	if reflect.DeepEqual(live, desired) {
		return nil
	}
	switch l := live.(type) {
	case map[string]any:
		d, ok := desired.(map[string]any)
		if !ok {
			break
		}
		keys := map[string]bool{}
		for k := range l {
			keys[k] = true
		}
		for k := range d {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		var out []changedPath
		for _, k := range sorted {
			out = append(out, diffPaths(l[k], d[k], appendPath(display, k), append(slices.Clone(segs), "f:"+k))...)
		}
		return out
	case []any:
		d, ok := desired.([]any)
		if !ok || len(d) != len(l) {
			break
		}
		var out []changedPath
		for i := range l {
			seg := listKey(l[i])
			disp := slices.Clone(display)
			if len(disp) > 0 {
				disp[len(disp)-1] += fmt.Sprintf("[%d]", i)
			}
			out = append(out, diffPaths(l[i], d[i], disp, append(slices.Clone(segs), seg))...)
		}
		return out
	}
	return []changedPath{{display: strings.Join(display, "."), segments: segs}}
}

func appendPath(p []string, k string) []string {
	return append(slices.Clone(p), k)
}

// listKey is the managedFields key of a list item: merge keys for the lists
// pave renders (containers, env, ports, volumes...).
func listKey(item any) string {
	m, ok := item.(map[string]any)
	if !ok {
		data, _ := json.Marshal(item)
		return "v:" + string(data)
	}
	for _, k := range []string{"name", "containerPort", "mountPath", "port", "key", "type"} {
		if v, ok := m[k]; ok {
			data, _ := json.Marshal(map[string]any{k: v})
			return "k:" + string(data)
		}
	}
	return ""
}

type fieldManager struct {
	name      string
	operation string
	time      time.Time
	fields    map[string]any
}

func parseManagers(o *unstructured.Unstructured) []fieldManager {
	var out []fieldManager
	for _, mf := range o.GetManagedFields() {
		if mf.FieldsV1 == nil || mf.Subresource != "" {
			continue
		}
		var fields map[string]any
		if json.Unmarshal(mf.FieldsV1.Raw, &fields) != nil {
			continue
		}
		fm := fieldManager{name: mf.Manager, operation: string(mf.Operation), fields: fields}
		if mf.Time != nil {
			fm.time = mf.Time.Time
		}
		out = append(out, fm)
	}
	return out
}

// ownerOf finds the manager that owns the deepest part of a path, other
// than pave; a field pave no longer owns was taken by whoever changed it.
func ownerOf(managers []fieldManager, segs []string) *fieldManager {
	var best *fieldManager
	bestDepth := -1
	for i := range managers {
		m := &managers[i]
		if m.name == FieldManager {
			continue
		}
		depth := matchDepth(m.fields, segs)
		if depth > bestDepth || (depth == bestDepth && best != nil && m.time.After(best.time)) {
			best, bestDepth = m, depth
		}
	}
	if bestDepth <= 0 {
		return nil
	}
	return best
}

func matchDepth(fields map[string]any, segs []string) int {
	depth := 0
	cur := fields
	for _, s := range segs {
		next, ok := cur[s].(map[string]any)
		if !ok {
			return depth
		}
		depth++
		cur = next
	}
	return depth
}
