package review

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/pave-dev/pave/catalog"
	"github.com/pave-dev/pave/policy"
)

// A pull request that edits the platform's rules (pave.yaml, policies/,
// templates/) must not be judged by those edits alone: otherwise a change
// that adds a registry to pave.yaml, or deletes a policy, and in the same
// breath adds a service that needs it, passes its own check. judgeRules
// closes that hole:
//
//   - the services the change edits itself are also evaluated, as rendered
//     at head, against the base's policies and pave.yaml; a denial only
//     the base's rules give is added to the result as "let-through" and
//     blocks like a new one (the platform change has to land on its own
//     first, reviewed as such);
//   - policies the base has and the head does not are listed as deleted,
//     policies that lose their deny rules or stop denying what they
//     denied at base as weakened;
//   - the pave.yaml diff is kept for the report to show.
func judgeRules(ctx context.Context, rv *Review, base, head *Side, bs, hs *side, baseRulesOK bool, changed []string) error {
	var configChanged, policiesChanged, templatesChanged bool
	direct := map[string]bool{}
	for _, p := range changed {
		parts := strings.Split(p, "/")
		switch {
		case p == catalog.ConfigFile:
			configChanged = true
		case parts[0] == catalog.PoliciesDir && len(parts) > 1:
			policiesChanged = true
		case parts[0] == catalog.TemplatesDir && len(parts) > 2:
			templatesChanged = true
		case catalog.ServiceIDOf(p) != "":
			direct[catalog.ServiceIDOf(p)] = true
		}
	}
	if !configChanged && !policiesChanged && !templatesChanged {
		return nil
	}
	rc := &RulesChange{}
	defer func() {
		if len(rc.Deleted)+len(rc.Weakened)+len(rc.JudgedByBase) > 0 || rc.NotJudged != "" {
			rv.Rules = rc
		}
	}()
	if configChanged {
		d, err := configDiff(base.FS, head.FS)
		if err != nil {
			return err
		}
		rv.ConfigDiff = d
	}
	if bs == nil {
		rc.NotJudged = "the base has no usable pave.yaml"
		return nil
	}
	if !baseRulesOK {
		rc.NotJudged = "the base's policies do not compile"
	}

	// Deleted and weakened policies.
	if policiesChanged && baseRulesOK {
		headPolicies := map[string]bool{}
		for _, p := range hs.engine.Policies() {
			headPolicies[p.ID] = true
		}
		for _, p := range bs.engine.Policies() {
			if !headPolicies[p.ID] {
				rc.Deleted = append(rc.Deleted, PolicyChange{ID: p.ID, File: p.File, Line: p.Line})
			}
		}
	}

	// The services the change edits, judged by the base's rules.
	letThrough := map[string]int{} // policy → denials let through
	if len(direct) > 0 && baseRulesOK {
		for _, res := range rv.Results {
			if res.Environment == "" || !direct[res.Service] {
				continue
			}
			svc, ok := hs.byID[res.Service]
			if !ok {
				continue
			}
			rendered := hs.renders.get(pairOf(res))
			if rendered == nil {
				continue // it did not render at head: its errors block already
			}
			ns, err := hs.cat.Config.Namespace(svc.Metadata.Team, res.Environment)
			if err != nil {
				continue
			}
			byBase := bs.engine.Evaluate(ctx, policy.Input{Service: svc, Environment: res.Environment, Namespace: ns, Objects: rendered.Objects, ObjectsHash: rendered.ObjectsHash(), FS: hs.cat.FS})
			if !slices.Contains(rc.JudgedByBase, res.Service) {
				rc.JudgedByBase = append(rc.JudgedByBase, res.Service)
			}
			// The base's rules could not judge it: fail closed, as any
			// policy that cannot run does.
			for _, e := range byBase.Errors {
				res.Errors = append(res.Errors, policy.Error{File: e.File, Line: e.Line, Message: "the base's rules: " + e.Message})
				res.Status = policy.StatusError
			}
			for _, v := range onlyIn(byBase.Violations, res.Violations) {
				v.State = StateLetThrough
				res.Violations = append(res.Violations, v)
				letThrough[v.Policy]++
				if res.Status == policy.StatusPass {
					res.Status = policy.StatusFail
				}
			}
		}
		slices.Sort(rc.JudgedByBase)
	}

	if policiesChanged && baseRulesOK {
		fixed := map[string]int{}
		for _, res := range rv.Results {
			if direct[res.Service] {
				continue // the service changed too: its fixes are its own
			}
			for _, v := range res.Fixed {
				if v.Blocking() {
					fixed[v.Policy]++
				}
			}
		}
		changedFiles := map[string]bool{}
		for _, p := range changed {
			changedFiles[p] = true
		}
		for _, p := range bs.engine.Policies() {
			hp, ok := hs.engine.Policy(p.ID)
			if !ok {
				continue
			}
			var why []string
			if slices.Contains(bs.engine.Severities(p.ID), policy.Deny) && !slices.Contains(hs.engine.Severities(p.ID), policy.Deny) {
				why = append(why, "its deny rules are gone: it only warns")
			}
			// A policy whose own files are unchanged is not weakened by
			// itself: pave.yaml or a template is, and the report shows
			// those.
			if changedFiles[hp.File] || changedFiles[p.File] {
				if n := fixed[p.ID]; n > 0 {
					why = append(why, fmt.Sprintf("it no longer denies %s it denied at base", plural(n, "result")))
				}
				if n := letThrough[p.ID]; n > 0 {
					why = append(why, fmt.Sprintf("it lets %s through in services this change edits", plural(n, "denial")))
				}
			}
			if len(why) > 0 {
				rc.Weakened = append(rc.Weakened, PolicyChange{ID: p.ID, File: hp.File, Line: hp.Line, Why: strings.Join(why, "; ")})
			}
		}
	}
	return nil
}

// onlyIn returns the blocking violations of byBase that head does not
// have, matched like the review's violation states (policy, severity,
// object and field; the message may quote changed values).
func onlyIn(byBase []policy.Violation, head []Violation) []Violation {
	have := map[violationKey]int{}
	for i := range head {
		have[looseKey(&head[i].Violation)]++
	}
	var out []Violation
	for i := range byBase {
		v := byBase[i]
		if !v.Blocking() {
			continue
		}
		k := looseKey(&v)
		if have[k] > 0 {
			have[k]--
			continue
		}
		out = append(out, Violation{Violation: v})
	}
	return out
}

// configDiff is the unified diff of pave.yaml between the sides.
func configDiff(base, head fs.FS) (string, error) {
	read := func(fsys fs.FS) ([]string, error) {
		data, err := catalog.ReadFile(fsys, catalog.ConfigFile)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, nil
			}
			return nil, fmt.Errorf("read %s: %w", catalog.ConfigFile, err)
		}
		return difflib.SplitLines(string(data)), nil
	}
	a, err := read(base)
	if err != nil {
		return "", err
	}
	b, err := read(head)
	if err != nil {
		return "", err
	}
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: a, B: b, FromFile: "base/" + catalog.ConfigFile, ToFile: "head/" + catalog.ConfigFile, Context: 3})
	if err != nil {
		return "", fmt.Errorf("diff %s: %w", catalog.ConfigFile, err)
	}
	return d, nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
