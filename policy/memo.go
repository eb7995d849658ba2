package policy

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// DefaultMemoPairs is how many service × environment pairs an Engine
// keeps the last evaluation of when Options.MemoPairs is zero: two
// environments of 10,000 services.
const DefaultMemoPairs = 20000

// memo keeps, for each service × environment, what the engine's queries
// returned the last time it was evaluated and the digest of the complete
// input they saw (the settings, environment, namespace and objects). An
// evaluation of the same pair over the same input replays those results
// instead of running the queries again: a daemon round over a revision it
// has evaluated, same render, same policies, runs no Rego. Everything
// after the queries — placing results on service.yaml's lines, and the
// exceptions with their expiry dates — is done afresh every time.
//
// The memo belongs to one Engine, so it goes when the policies or
// pave.yaml change, but for a change that changes no decision: an engine
// compiled from policies with the same fingerprint, over the same
// pave.yaml, takes over the memo of the engine before it (ShareResults).
// It holds at most twice its limit of pairs: when the
// current generation is full it becomes the old one, and the pairs not
// evaluated since are dropped with the generation before.
type memo struct {
	mu       sync.Mutex
	limit    int
	cur, old map[string]*memoEntry
	hits     int // for tests
}

type memoEntry struct {
	digest [sha256.Size]byte
	runs   []memoRun
}

// memoRun is what one query returned: the non-empty result sets, by rule.
type memoRun []ruleResults

type ruleResults struct {
	rule  int
	items []any
}

func newMemo(limit int) *memo {
	if limit < 0 {
		return nil
	}
	if limit == 0 {
		limit = DefaultMemoPairs
	}
	return &memo{limit: limit, cur: map[string]*memoEntry{}}
}

// get returns the results kept for a pair when they were computed from
// the same input; nil otherwise.
func (m *memo) get(key string, digest [sha256.Size]byte) []memoRun {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.cur[key]
	if !ok {
		if e, ok = m.old[key]; ok {
			delete(m.old, key)
			m.store(key, e)
		}
	}
	if !ok || e.digest != digest {
		return nil
	}
	m.hits++
	return e.runs
}

// put keeps the results of a pair, in place of any before.
func (m *memo) put(key string, digest [sha256.Size]byte, runs []memoRun) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.old, key)
	m.store(key, &memoEntry{digest: digest, runs: runs})
}

func (m *memo) store(key string, e *memoEntry) {
	if _, ok := m.cur[key]; !ok && len(m.cur) >= m.limit {
		m.old, m.cur = m.cur, make(map[string]*memoEntry, len(m.cur))
	}
	m.cur[key] = e
}

// memoKey names a pair in the memo.
func memoKey(in Input) string {
	return in.Service.ID() + "\x00" + in.Environment
}

// inputDigest is the SHA-256 of everything the policies see of a pair:
// the service's settings (as the input holds them, with its name, team
// and template), the environment, the namespace and the objects (by
// in.ObjectsHash when the caller gives it, else by their JSON).
func inputDigest(in Input, settings []byte) [sha256.Size]byte {
	h := sha256.New()
	svc := in.Service
	for _, s := range []string{svc.Metadata.Team, svc.Metadata.Name, svc.TemplateName(), in.Environment, in.Namespace, string(settings)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	if in.ObjectsHash != "" {
		h.Write([]byte("hash\x00" + in.ObjectsHash))
	} else {
		h.Write([]byte("objects\x00"))
		enc := json.NewEncoder(h)
		for _, o := range in.Objects {
			// Objects come from JSON or YAML: they always encode. One that
			// did not would be refused by the input conversion anyway.
			_ = enc.Encode(o.Object)
		}
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// clockBuiltins give results that depend on the time of the evaluation,
// not only on its input: an engine whose policies call one of them (or
// anything OPA marks non-deterministic) keeps no memo.
var clockBuiltins = []string{
	"time.now_ns",
	"io.jwt.decode_verify",
	"crypto.x509.parse_and_verify_certificates",
	"crypto.x509.parse_and_verify_certificates_with_options",
}

// timeDependent tells whether any compiled module calls a builtin whose
// result depends on the clock.
func timeDependent(compiler *ast.Compiler) bool {
	found := false
	for _, m := range compiler.Modules {
		ast.WalkRefs(m, func(r ast.Ref) bool {
			if found {
				return true
			}
			name := r.String()
			for _, c := range clockBuiltins {
				if name == c || strings.HasPrefix(name, c+".") {
					found = true
					return true
				}
			}
			if b, ok := ast.BuiltinMap[name]; ok && b.Nondeterministic {
				found = true
			}
			return found
		})
		if found {
			return true
		}
	}
	return false
}

// memoRunOf keeps the non-empty result sets of one query's results.
func memoRunOf(qs *querySet, rs rego.ResultSet) memoRun {
	var run memoRun
	for i, r := range qs.rules {
		if set, _ := rs[0].Bindings[r.variable].([]any); len(set) > 0 {
			run = append(run, ruleResults{rule: i, items: set})
		}
	}
	return run
}

// sets returns a kept run's result sets, by rule of qs.
func (run memoRun) sets(qs *querySet) [][]any {
	out := make([][]any, len(qs.rules))
	for _, rr := range run {
		if rr.rule < len(out) {
			out[rr.rule] = rr.items
		}
	}
	return out
}

// fingerprint digests what the policies decide with, and nothing else:
// each module (by file) as OPA prints it back, without comments or
// positions, with its Rego version and METADATA annotations. Annotations
// keep their positions when some rule reads its metadata (rego.metadata.*
// returns them). Modules with equal fingerprints compile to the same
// rules, in the same order: over the same pave.yaml they give the same
// results for the same input. Taken before compiling, which rewrites the
// modules.
func fingerprint(modules map[string]*ast.Module) [sha256.Size]byte {
	readsMetadata := false
	for _, m := range modules {
		ast.WalkRefs(m, func(r ast.Ref) bool {
			if n := r.String(); n == "rego.metadata.chain" || n == "rego.metadata.rule" {
				readsMetadata = true
			}
			return readsMetadata
		})
	}
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, f := range slices.Sorted(maps.Keys(modules)) {
		m := modules[f]
		fmt.Fprintf(h, "%s\x00%d\x00%s\x00", f, m.RegoVersion(), m.String())
		for _, a := range m.Annotations {
			// Annotations always encode (they were decoded from YAML),
			// without their positions.
			_ = enc.Encode(a)
			if readsMetadata && a.Location != nil {
				fmt.Fprintf(h, "@%d:%d\x00", a.Location.Row, a.Location.Col)
			}
		}
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// ShareResults makes e use the results prev remembers, and reports whether
// it does: when both keep a memo and their policies have the same
// fingerprint. The caller knows they were compiled over pave.yaml files
// that give the policies the same settings and data. A commit that only
// edits comments in policies/ (or moves lines) then evaluates no pair
// again. The two engines share one memo from then on.
func (e *Engine) ShareResults(prev *Engine) bool {
	if prev == nil || e.memo == nil || prev.memo == nil || e.fingerprint != prev.fingerprint {
		return false
	}
	e.memo = prev.memo
	return true
}

// SharesResultsWith reports whether e and o use one memo (ShareResults).
func (e *Engine) SharesResultsWith(o *Engine) bool {
	return o != nil && e.memo != nil && e.memo == o.memo
}
