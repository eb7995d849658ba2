package apply

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pave-dev/pave/render"
)

// SystemNamespace holds pave's inventories in every cluster.
const SystemNamespace = "pave-system"

// Inventory records what pave applied for one service in one environment:
// the objects, the rendered content hash, the catalog revision and when.
// It lives in the environment's cluster as a ConfigMap, so it survives
// restarts of pave, and it is written only after a successful apply.
type Inventory struct {
	Team        string
	Service     string
	Environment string
	Objects     []ObjectRef
	// Digests holds each object's digest as it was applied (digestOf: its
	// rendered content, without the revision annotation), by ObjectRef
	// key. A later apply writes only the objects whose digest changed.
	// Inventories written before it was kept have none.
	Digests     map[string]string
	Hash        string
	Revision    string
	Template    string
	Source      string
	LastApplied time.Time
}

// ObjectRef identifies an applied object.
type ObjectRef struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

func (r ObjectRef) String() string {
	s := r.Kind + "/"
	if r.Namespace != "" {
		s += r.Namespace + "/"
	}
	return s + r.Name
}

// GroupVersionKind of the referenced object.
func (r ObjectRef) GroupVersionKind() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}
}

// key identifies the object regardless of its API version.
func (r ObjectRef) key() string {
	return r.Group + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name
}

// Unstructured returns an empty object with the reference's identity.
func (r ObjectRef) Unstructured() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(r.GroupVersionKind())
	u.SetNamespace(r.Namespace)
	u.SetName(r.Name)
	return u
}

// RefOf returns the reference of an object.
func RefOf(o *unstructured.Unstructured) ObjectRef {
	gvk := o.GroupVersionKind()
	return ObjectRef{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: o.GetNamespace(), Name: o.GetName()}
}

// digestOf is an object's content as pave renders it, without the
// revision annotation (which every commit changes): equal digests mean
// applying the object again would change nothing pave asked for.
func digestOf(o *unstructured.Unstructured) (string, error) {
	obj := maps.Clone(o.Object)
	if meta, ok := obj["metadata"].(map[string]any); ok {
		meta = maps.Clone(meta)
		if ann, ok := meta["annotations"].(map[string]any); ok {
			ann = maps.Clone(ann)
			delete(ann, render.AnnotationRevision)
			meta["annotations"] = ann
		}
		obj["metadata"] = meta
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return "", fmt.Errorf("digest of %s: %w", describe(o), err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16]), nil
}

// inventoryName is the ConfigMap name: "<team>.<service>.<environment>"
// (environments may share a cluster).
func inventoryName(team, service, env string) string {
	return team + "." + service + "." + env
}

const (
	dataObjects     = "objects"
	dataDigests     = "digests"
	dataHash        = "hash"
	dataRevision    = "revision"
	dataTemplate    = "template"
	dataSource      = "source"
	dataLastApplied = "lastApplied"
	// LabelInventory marks pave's inventory ConfigMaps.
	LabelInventory = "pave.dev/inventory"
)

func (inv *Inventory) configMap() (*corev1.ConfigMap, error) {
	refs := slices.Clone(inv.Objects)
	slices.SortFunc(refs, func(a, b ObjectRef) int { return strings.Compare(a.key(), b.key()) })
	data, err := json.Marshal(refs)
	if err != nil {
		return nil, err
	}
	cm := &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      inventoryName(inv.Team, inv.Service, inv.Environment),
			Namespace: SystemNamespace,
			Labels: map[string]string{
				render.LabelManagedBy:   render.ManagedBy,
				render.LabelTeam:        inv.Team,
				render.LabelService:     inv.Service,
				render.LabelEnvironment: inv.Environment,
				LabelInventory:          "true",
			},
		},
		Data: map[string]string{
			dataObjects:     string(data),
			dataHash:        inv.Hash,
			dataRevision:    inv.Revision,
			dataTemplate:    inv.Template,
			dataSource:      inv.Source,
			dataLastApplied: inv.LastApplied.UTC().Format(time.RFC3339),
		},
	}
	if len(inv.Digests) > 0 {
		digests, err := json.Marshal(inv.Digests) // sorted by key
		if err != nil {
			return nil, err
		}
		cm.Data[dataDigests] = string(digests)
	}
	return cm, nil
}

func inventoryFromConfigMap(cm *corev1.ConfigMap) (*Inventory, error) {
	inv := &Inventory{
		Team:        cm.Labels[render.LabelTeam],
		Service:     cm.Labels[render.LabelService],
		Environment: cm.Labels[render.LabelEnvironment],
		Hash:        cm.Data[dataHash],
		Revision:    cm.Data[dataRevision],
		Template:    cm.Data[dataTemplate],
		Source:      cm.Data[dataSource],
	}
	if err := json.Unmarshal([]byte(cm.Data[dataObjects]), &inv.Objects); err != nil {
		return nil, fmt.Errorf("inventory %s/%s: objects: %w", cm.Namespace, cm.Name, err)
	}
	if d, ok := cm.Data[dataDigests]; ok {
		if err := json.Unmarshal([]byte(d), &inv.Digests); err != nil {
			return nil, fmt.Errorf("inventory %s/%s: digests: %w", cm.Namespace, cm.Name, err)
		}
	}
	if t, err := time.Parse(time.RFC3339, cm.Data[dataLastApplied]); err == nil {
		inv.LastApplied = t
	}
	return inv, nil
}

// ID is "team/service".
func (inv *Inventory) ID() string { return inv.Team + "/" + inv.Service }

// readInventory returns the inventory of a service in an environment, or
// nil when there is none.
func readInventory(ctx context.Context, c client.Client, team, service, env string) (*Inventory, error) {
	var cm corev1.ConfigMap
	err := c.Get(ctx, client.ObjectKey{Namespace: SystemNamespace, Name: inventoryName(team, service, env)}, &cm)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read inventory: %w", err)
	}
	return inventoryFromConfigMap(&cm)
}

// inventoryPage is how many inventories one list request reads: a
// cluster's list is read a page at a time, so that 10,000 services'
// inventories are never in memory as one response, and those another
// shard keeps are dropped as each page is read.
const inventoryPage = 500

// listInventories lists a cluster's pave inventories, a page at a time:
// kept are those of the services keep accepts (all when keep is nil), left
// the names of the others. A list whose continuation expired (the API
// server compacted its history meanwhile) starts over once, as one
// request.
func listInventories(ctx context.Context, c client.Client, keep func(team, service string) bool) (kept []*Inventory, left []string, err error) {
	return listInventoryPages(ctx, c, keep, inventoryPage)
}

// listInventoryPages is listInventories with page inventories a request
// (0: all in one).
func listInventoryPages(ctx context.Context, c client.Client, keep func(team, service string) bool, page int64) (kept []*Inventory, left []string, err error) {
	limit := page
	for attempt := 0; ; attempt++ {
		kept, left = nil, nil
		next := ""
		for {
			var list corev1.ConfigMapList
			err := c.List(ctx, &list, client.InNamespace(SystemNamespace), client.MatchingLabels{LabelInventory: "true"}, client.Limit(limit), client.Continue(next))
			if apierrors.IsResourceExpired(err) && attempt == 0 {
				break
			}
			if err != nil {
				return nil, nil, fmt.Errorf("list inventories: %w", err)
			}
			for i := range list.Items {
				inv, err := inventoryFromConfigMap(&list.Items[i])
				if err != nil {
					return nil, nil, err
				}
				if keep != nil && !keep(inv.Team, inv.Service) {
					left = append(left, list.Items[i].Name)
					continue
				}
				kept = append(kept, inv)
			}
			if next = list.Continue; next == "" {
				return kept, left, nil
			}
		}
		limit = 0 // the retry reads the whole list in one request
	}
}

// writeInventory writes the inventory ConfigMap. One that exists
// (existed: the index or a read found it) gets a merge patch of pave's
// labels and data: about two thirds of a server-side apply's cost to the
// API server (BenchmarkRequests), for the request every changed service
// sends; what else is on the ConfigMap stays, as with an apply. A new one,
// or one deleted meanwhile, is server-side applied, which creates it (and
// the system namespace when that is missing).
func writeInventory(ctx context.Context, c client.Client, inv *Inventory, existed bool) error {
	cm, err := inv.configMap()
	if err != nil {
		return err
	}
	if existed {
		data := make(map[string]any, len(cm.Data)+1)
		for k, v := range cm.Data {
			data[k] = v
		}
		if _, ok := cm.Data[dataDigests]; !ok {
			data[dataDigests] = nil // removed, as an apply without it would
		}
		body, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": cm.Labels}, "data": data})
		if err != nil {
			return err
		}
		err = c.Patch(ctx, cm.DeepCopy(), client.RawPatch(types.MergePatchType, body), client.FieldOwner(FieldManager))
		if err == nil {
			return nil
		}
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("write inventory %s: %w", cm.Name, err)
		}
	}
	patch := func() error {
		//nolint:staticcheck // client.Apply with an object is the controller-runtime SSA entry point.
		if err := c.Patch(ctx, cm.DeepCopy(), client.Apply, client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
			return fmt.Errorf("write inventory %s: %w", cm.Name, err)
		}
		return nil
	}
	err = patch()
	if apierrors.IsNotFound(err) {
		// An apply creates the ConfigMap: only its namespace can be missing.
		if err := ensureSystemNamespace(ctx, c); err != nil {
			return err
		}
		err = patch()
	}
	return err
}

// deleteInventory removes a service's inventory from a cluster.
func deleteInventory(ctx context.Context, c client.Client, team, service, env string) error {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: SystemNamespace, Name: inventoryName(team, service, env)}}
	if err := c.Delete(ctx, cm); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete inventory %s: %w", cm.Name, err)
	}
	return nil
}
