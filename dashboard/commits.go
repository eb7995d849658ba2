package dashboard

import (
	"context"
	"sync"

	"github.com/pave-dev/pave/source"
)

// maxCommits bounds the commits the dashboard remembers.
const maxCommits = 4096

// commitCache remembers commits (they never change) and bounds the wait
// for one: the git source reads the clone under the lock a fetch holds,
// and a page must not wait for a slow fetch past its deadline.
type commitCache struct {
	read func(ctx context.Context, id string) (*source.Revision, error)
	mu   sync.Mutex
	m    map[string]*commitInfo
}

func newCommitCache(read func(ctx context.Context, id string) (*source.Revision, error)) *commitCache {
	return &commitCache{read: read, m: map[string]*commitInfo{}}
}

func (c *commitCache) get(ctx context.Context, id string) (*commitInfo, error) {
	c.mu.Lock()
	ci, ok := c.m[id]
	c.mu.Unlock()
	if ok {
		return ci, nil
	}
	type answer struct {
		ci  *commitInfo
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		rev, err := c.read(ctx, id)
		if err != nil {
			ch <- answer{err: err}
			return
		}
		ci := &commitInfo{Message: rev.Message, Author: rev.Author}
		if !rev.Time.IsZero() {
			t := rev.Time
			ci.Time = &t
		}
		c.mu.Lock()
		if len(c.m) >= maxCommits {
			clear(c.m)
		}
		c.m[id] = ci
		c.mu.Unlock()
		ch <- answer{ci: ci}
	}()
	select {
	case a := <-ch:
		return a.ci, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
