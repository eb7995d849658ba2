package render

import (
	"bytes"
	"testing"
)

// TestNoCacheRendersTheSame: a renderer without a cache (pave check's,
// which renders each pair once) renders what a cached one does, and keeps
// nothing: rendering a pair again renders it again.
func TestNoCacheRendersTheSame(t *testing.T) {
	cat := loadExampleCatalog(t)
	cached := New(cat, Options{})
	uncached := New(cat, Options{NoCache: true})
	for _, svc := range cat.Services {
		for _, env := range cat.Config.EnvironmentNames() {
			want, err := cached.Render(svc, env)
			if err != nil {
				t.Fatal(err)
			}
			got, err := uncached.Render(svc, env)
			if err != nil {
				t.Fatal(err)
			}
			if got.Hash != want.Hash || !bytes.Equal(got.YAML(), want.YAML()) {
				t.Errorf("%s (%s) renders differently without a cache", svc.ID(), env)
			}
			again, err := uncached.Render(svc, env)
			if err != nil {
				t.Fatal(err)
			}
			if again.Objects[0] == got.Objects[0] {
				t.Errorf("%s (%s): the uncached renderer kept a render", svc.ID(), env)
			}
			// The cached renderer renders a pair once and then hands out
			// copies of what it kept.
			kept := cached.cache.Len()
			cachedAgain, _ := cached.Render(svc, env)
			if cached.cache.Len() != kept || cachedAgain.Hash != want.Hash || !bytes.Equal(cachedAgain.YAML(), want.YAML()) {
				t.Errorf("%s (%s): the cached renderer rendered again", svc.ID(), env)
			}
			if cachedAgain.Objects[0] == want.Objects[0] {
				t.Errorf("%s (%s): two results share an object", svc.ID(), env)
			}
		}
	}
	if uncached.cache != nil {
		t.Error("the uncached renderer has a cache")
	}
}

// TestHashIsRendersHash: Hash answers what Render's Result.Hash would,
// before the pair is kept and after, with a cache and without, and fails
// as Render fails.
func TestHashIsRendersHash(t *testing.T) {
	cat := loadExampleCatalog(t)
	for _, opts := range []Options{{}, {NoCache: true}} {
		fresh, warm := New(cat, opts), New(cat, opts)
		for _, svc := range cat.Services {
			for _, env := range cat.Config.EnvironmentNames() {
				cold, err := fresh.Hash(svc, env) // nothing kept yet
				if err != nil {
					t.Fatal(err)
				}
				want, err := warm.Render(svc, env)
				if err != nil {
					t.Fatal(err)
				}
				kept, err := warm.Hash(svc, env) // from the kept render
				if err != nil {
					t.Fatal(err)
				}
				if cold != want.Hash || kept != want.Hash {
					t.Errorf("%s (%s), NoCache %v: Hash %q before and %q after the render, want %q", svc.ID(), env, opts.NoCache, cold, kept, want.Hash)
				}
			}
		}
	}
	svc := cat.Services[0]
	if _, err := New(cat, Options{}).Hash(svc, "nowhere"); err == nil {
		t.Error("Hash of an unknown environment: no error")
	}
}
