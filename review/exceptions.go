package review

import (
	"slices"
	"strings"
	"time"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/policy"
)

// exceptionChanges lists the exceptions a change adds, changes or removes,
// comparing every exceptions file of the base (nil: none) with the
// head's, valid or not: an exception the head gets wrong is shown too,
// next to its error. An exception is the same on both sides when it has
// the same service, policy and environments; it changed when its reason,
// approver or expiry differ.
func exceptionChanges(base, head *catalog.Catalog, now time.Time) []policy.ExceptionEntry {
	type key struct{ service, policy, envs string }
	index := func(c *catalog.Catalog) (map[key][]policy.ExceptionEntry, []key) {
		m := map[key][]policy.ExceptionEntry{}
		var order []key
		if c == nil {
			return m, nil
		}
		for _, xf := range c.Exceptions {
			for _, x := range policy.FileExceptions(xf, now) {
				k := key{x.Service, x.Policy, strings.Join(slices.Sorted(slices.Values(x.Environments)), ",")}
				if _, seen := m[k]; !seen {
					order = append(order, k)
				}
				m[k] = append(m[k], x)
			}
		}
		return m, order
	}
	before, _ := index(base)
	after, order := index(head)
	var out []policy.ExceptionEntry
	for _, k := range order {
		for i, x := range after[k] {
			if i >= len(before[k]) {
				x.Change = policy.ChangeAdded
				out = append(out, x)
				continue
			}
			b := before[k][i]
			if b.Reason != x.Reason || b.ApprovedBy != x.ApprovedBy || b.Expires != x.Expires {
				x.Change = policy.ChangeChanged
				was := b.Exception
				x.Before = &was
				out = append(out, x)
			}
		}
	}
	for k, xs := range before {
		for i, x := range xs {
			if i >= len(after[k]) {
				x.Change = policy.ChangeRemoved
				out = append(out, x)
			}
		}
	}
	policy.SortExceptions(out)
	return out
}
