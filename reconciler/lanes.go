package reconciler

import (
	"slices"
	"sync"
)

// lanes is the order of the daemon's work queue (the workqueue's
// underlying FIFO): a pair whose promotion goes on — the next
// environment's pair, queued again once the reconcile it was put off
// behind ends or once its gate may have opened — goes ahead of the rest,
// so that a commit's next environment does not wait behind a whole round
// (a resync, a template change, the share a replica just took over).
// Within each lane the order is first in, first out.
//
// The workqueue calls Push, Touch, Pop and Len under its own lock; the
// daemon marks a pair with ahead before it adds it. lanes' own lock comes
// after the workqueue's.
type lanes struct {
	mu sync.Mutex
	// urgent holds the pairs marked to go ahead that are not handed out
	// yet.
	urgent      map[pairKey]bool
	front, back []pairKey
}

func newLanes() *lanes { return &lanes{urgent: map[pairKey]bool{}} }

// ahead marks pairs to go ahead when they are next added to the queue
// (or at once, if they wait in it already).
func (l *lanes) ahead(keys ...pairKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		l.urgent[k] = true
	}
}

// Push adds a pair the queue does not hold.
func (l *lanes) Push(k pairKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.urgent[k] {
		l.front = append(l.front, k)
		return
	}
	l.back = append(l.back, k)
}

// Touch is a pair added again while it waits in the queue: marked to go
// ahead since, it moves to the front lane.
func (l *lanes) Touch(k pairKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.urgent[k] {
		return
	}
	if i := slices.Index(l.back, k); i >= 0 {
		l.back = slices.Delete(l.back, i, i+1)
		l.front = append(l.front, k)
	}
}

// Len is how many pairs wait.
func (l *lanes) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.front) + len(l.back)
}

// Pop hands out the next pair: the front lane's first, else the back
// lane's. The workqueue calls it only when Len is not zero.
func (l *lanes) Pop() pairKey {
	l.mu.Lock()
	defer l.mu.Unlock()
	var k pairKey
	if len(l.front) > 0 {
		k, l.front[0] = l.front[0], pairKey{}
		l.front = l.front[1:]
	} else {
		k, l.back[0] = l.back[0], pairKey{}
		l.back = l.back[1:]
	}
	delete(l.urgent, k)
	return k
}
