package review

import (
	"github.com/pave-dev/pave/policy"
)

// markStates compares a head result's violations with the base's: each
// is new or existing, and the base's violations the head no longer has
// are kept as fixed. Without a base result (a new pair) every violation is
// new; so is it when the base's policies did not compile (its results
// hold no violations).
//
// A violation is matched on its policy, severity, object, field and
// message first, then — for messages that quote a changed value, such as
// an image tag — on everything but the message.
func markStates(head, base *Result) {
	for i := range head.Violations {
		head.Violations[i].State = StateNew
	}
	if base == nil {
		return
	}
	remaining := make([]bool, len(base.Violations))
	for i := range remaining {
		remaining[i] = true
	}
	match := func(key func(*policy.Violation) violationKey) {
		byKey := map[violationKey][]int{}
		for i := range base.Violations {
			if remaining[i] {
				k := key(&base.Violations[i].Violation)
				byKey[k] = append(byKey[k], i)
			}
		}
		for i := range head.Violations {
			v := &head.Violations[i]
			if v.State != StateNew {
				continue
			}
			k := key(&v.Violation)
			if idx := byKey[k]; len(idx) > 0 {
				v.State = StateExisting
				remaining[idx[0]] = false
				byKey[k] = idx[1:]
			}
		}
	}
	match(fullKey)
	match(looseKey)
	for i, left := range remaining {
		if left {
			v := base.Violations[i]
			v.State = StateFixed
			head.Fixed = append(head.Fixed, v)
		}
	}
}

type violationKey struct {
	policy, severity, kind, name, field, message string
}

func fullKey(v *policy.Violation) violationKey {
	k := looseKey(v)
	k.message = v.Message
	return k
}

func looseKey(v *policy.Violation) violationKey {
	k := violationKey{policy: v.Policy, severity: string(v.Severity), field: v.Field}
	if v.Object != nil {
		k.kind, k.name = v.Object.Kind, v.Object.Name
	}
	return k
}
