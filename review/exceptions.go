package review

import (
	"cmp"
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
func exceptionChanges(base, head *catalog.Catalog, now time.Time) []ExceptionChange {
	type key struct{ service, policy, envs string }
	index := func(c *catalog.Catalog) (map[key][]ExceptionChange, []key) {
		m := map[key][]ExceptionChange{}
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
				m[k] = append(m[k], ExceptionChange{Service: x.Service, Exception: x.Exception})
			}
		}
		return m, order
	}
	before, _ := index(base)
	after, order := index(head)
	var out []ExceptionChange
	for _, k := range order {
		for i, x := range after[k] {
			if i >= len(before[k]) {
				x.Change = ChangeAdded
				out = append(out, x)
				continue
			}
			b := before[k][i]
			if b.Reason != x.Reason || b.ApprovedBy != x.ApprovedBy || b.Expires != x.Expires {
				x.Change = ChangeChanged
				was := b.Exception
				x.Before = &was
				out = append(out, x)
			}
		}
	}
	for k, xs := range before {
		for i, x := range xs {
			if i >= len(after[k]) {
				x.Change = ChangeRemoved
				out = append(out, x)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b ExceptionChange) int {
		return cmp.Or(strings.Compare(a.Service, b.Service), strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), strings.Compare(a.Change, b.Change))
	})
	return out
}
