package render

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	"github.com/pave-dev/pave/catalog"
)

// Cache keeps rendered services keyed by the content hash of everything
// that goes into a render: the service's settings for the environment, its
// patches, the template's files, the platform values. Re-rendering an
// unchanged catalog is then a hash and a map lookup per service.
type Cache struct {
	mu      sync.Mutex
	entries map[string]*cached
	// used marks the entries read or written since the last Sweep.
	used map[string]bool
	// deflaters and inflaters reuse DEFLATE state across renders.
	deflaters, inflaters sync.Pool
}

// cached is one render, kept as the compact JSON of its objects rather
// than as objects, compressed: a decoded object takes several times the
// memory of its JSON, a render's JSON compresses several times over (its
// objects repeat their labels and names), and a daemon keeps every
// service's render of every environment. Each result decompresses and
// decodes its own copy (a fraction of a render's cost).
type cached struct {
	data []byte // DEFLATE of the JSON list of objects
	hash string
}

// deflate compresses a render's JSON, reusing a compressor: a DEFLATE
// writer's state is hundreds of kilobytes.
func (c *Cache) deflate(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(data) / 4)
	w, _ := c.deflaters.Get().(*flate.Writer)
	if w == nil {
		var err error
		if w, err = flate.NewWriter(&buf, flate.BestSpeed); err != nil {
			return nil, err
		}
	} else {
		w.Reset(&buf)
	}
	defer c.deflaters.Put(w)
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return bytes.Clone(buf.Bytes()), nil
}

// inflate decompresses a kept render's JSON, reusing a decompressor.
func (c *Cache) inflate(data []byte) ([]byte, error) {
	r, _ := c.inflaters.Get().(io.ReadCloser)
	if r == nil {
		r = flate.NewReader(bytes.NewReader(data))
	} else if err := r.(flate.Resetter).Reset(bytes.NewReader(data), nil); err != nil {
		return nil, err
	}
	defer c.inflaters.Put(r)
	var buf bytes.Buffer
	buf.Grow(len(data) * 6)
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (c *Cache) newCached(objs []*unstructured.Unstructured) (*cached, error) {
	list := make([]map[string]any, len(objs))
	for i, o := range objs {
		list[i] = o.Object
	}
	data, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	packed, err := c.deflate(data)
	if err != nil {
		return nil, err
	}
	return &cached{data: packed, hash: hashObjects(objs)}, nil
}

// objects decodes a fresh copy of the render's objects.
func (c *Cache) objects(e *cached) ([]*unstructured.Unstructured, error) {
	data, err := c.inflate(e.data)
	if err != nil {
		return nil, err
	}
	var list []map[string]any
	if err := utiljson.Unmarshal(data, &list); err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, len(list))
	for i, m := range list {
		out[i] = &unstructured.Unstructured{Object: m}
	}
	return out, nil
}

// NewCache returns an empty cache.
func NewCache() *Cache {
	return &Cache{entries: map[string]*cached{}, used: map[string]bool{}}
}

// get finds a render; a nil Cache (render.Options.NoCache) has none.
func (c *Cache) get(key string) (*cached, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if ok {
		c.used[key] = true
	}
	return e, ok
}

// put keeps a render, unless the Cache is nil.
func (c *Cache) put(key string, e *cached) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[key] = e
	c.used[key] = true
}

// Len is the number of cached renders.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Sweep drops the entries not used since the previous Sweep, so that a
// long-running process keeps only what its catalog still renders.
func (c *Cache) Sweep() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.trim()
	c.used = map[string]bool{}
}

// Trim drops the entries not used since the previous Sweep, like Sweep,
// but keeps counting from that Sweep: a daemon trims once a round is over,
// dropping the renders of what its catalog no longer renders without
// forgetting which renders the round used.
func (c *Cache) Trim() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.trim()
}

// trim drops the entries not used since the last Sweep, with c.mu held.
func (c *Cache) trim() {
	for k := range c.entries {
		if !c.used[k] {
			delete(c.entries, k)
		}
	}
}

func (r *Renderer) cacheKey(svc *catalog.Service, st catalog.Settings, env string, gp *goldenPath) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00", svc.ID(), svc.File, env, gp.hash, r.platformHash)
	if err := json.NewEncoder(h).Encode(st); err != nil {
		return "", err
	}
	for _, p := range st.Patches {
		if p.Path == "" {
			continue
		}
		data, err := catalog.ReadFile(r.cat.FS, path.Join(svc.Dir(), p.Path))
		if err != nil && !isNotExist(err) {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p.Path, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func isNotExist(err error) bool { return err != nil && errors.Is(err, fs.ErrNotExist) }
