package catalog

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestInvalidConfigs checks every fixture in testdata/config the same way
// TestInvalidServices checks services: "# want LINE:COL message-prefix".
func TestInvalidConfigs(t *testing.T) {
	fixtures, err := filepath.Glob("testdata/config/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, fixture := range fixtures {
		t.Run(strings.TrimSuffix(filepath.Base(fixture), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(fixture)
			if err != nil {
				t.Fatal(err)
			}
			var wants []Error
			for _, line := range strings.Split(string(data), "\n") {
				if m := wantRE.FindStringSubmatch(line); m != nil {
					l, _ := strconv.Atoi(m[1])
					c, _ := strconv.Atoi(m[2])
					wants = append(wants, Error{Position: Position{Line: l, Column: c}, Message: m[3]})
				}
			}
			cfg, errs := ParseConfig("pave.yaml", data)
			if cfg != nil {
				t.Fatal("an invalid pave.yaml must not produce a config")
			}
			for _, w := range wants {
				found := false
				for _, g := range errs {
					if g.Line == w.Line && g.Column == w.Column && strings.HasPrefix(g.Message, w.Message) {
						found = true
					}
				}
				if !found {
					t.Errorf("missing error %d:%d %s", w.Line, w.Column, w.Message)
				}
			}
			if len(errs) != len(wants) {
				t.Errorf("got %d errors, want %d:\n%v", len(errs), len(wants), errs)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg, errs := ParseConfig("pave.yaml", []byte(`apiVersion: pave.dev/v1alpha1
kind: Catalog
environments:
  - {name: staging, cluster: staging}
  - {name: prod, cluster: prod, namespace: "prod-{team}"}
teams:
  - {name: payments, owners: [a@example.com]}
`))
	if errs != nil {
		t.Fatal(errs)
	}
	if got := strings.Join(cfg.SizeNames(), ","); got != "small,medium,large" {
		t.Errorf("default sizes = %s", got)
	}
	if cfg.Defaults.Size != "small" {
		t.Errorf("default size = %q", cfg.Defaults.Size)
	}
	for env, want := range map[string]string{"staging": "payments-staging", "prod": "prod-payments"} {
		if got, _ := cfg.Namespace("payments", env); got != want {
			t.Errorf("namespace(payments, %s) = %q, want %q", env, got, want)
		}
	}
	if _, err := cfg.Namespace("payments", "qa"); err == nil {
		t.Error("unknown environment must be an error")
	}
}

// TestPromotionDefaults: an environment without a promotion block is
// promoted at once (soak 0, approval auto); one with a block keeps it.
func TestPromotionDefaults(t *testing.T) {
	cfg, errs := ParseConfig("pave.yaml", []byte(`apiVersion: pave.dev/v1alpha1
kind: Catalog
environments:
  - {name: staging, cluster: staging}
  - {name: qa, cluster: staging}
  - name: prod
    cluster: prod
    promotion: {soak: 10m, approval: manual}
teams:
  - {name: payments, owners: [a@example.com]}
`))
	if errs != nil {
		t.Fatal(errs)
	}
	for env, want := range map[string]Promotion{
		"staging": {Approval: ApprovalAuto},
		"qa":      {Approval: ApprovalAuto},
		"prod":    {Soak: Duration(10 * time.Minute), Approval: ApprovalManual},
	} {
		if e, _ := cfg.Environment(env); e.Promotion != want {
			t.Errorf("%s: promotion %+v, want %+v", env, e.Promotion, want)
		}
	}
	if cfg.Rollback != RollbackManual {
		t.Errorf("rollback %q, want manual by default", cfg.Rollback)
	}
}

func TestLoadWithoutConfig(t *testing.T) {
	fsys := testCatalog(t)
	delete(fsys, "pave.yaml")
	_, err := Load(fsys)
	if err == nil || !strings.Contains(err.Error(), "pave.yaml: not found") {
		t.Fatalf("err = %v", err)
	}
	fsys["pave.yaml"] = fsys["templates/worker/Chart.yaml"]
	_, err = Load(fsys)
	if err == nil || !strings.Contains(err.Error(), `pave.yaml:2:1: unknown field "name"`) {
		t.Fatalf("err = %v", err)
	}
}

// TestEnvironmentsShareACluster: two environments on one cluster are
// fine as long as no namespace is shared (it used to be refused whenever
// their patterns were equal, even with {env} in them).
func TestEnvironmentsShareACluster(t *testing.T) {
	cfg, errs := ParseConfig("pave.yaml", []byte(`apiVersion: pave.dev/v1alpha1
kind: Catalog
environments:
  - {name: dev, cluster: main}
  - {name: staging, cluster: main}
  - {name: qa, cluster: main, namespace: "qa-{team}"}
  - {name: prod, cluster: prod, namespace: "{team}"}
teams:
  - {name: payments, owners: [a@example.com]}
  - {name: storefront, owners: [b@example.com]}
`))
	if errs != nil {
		t.Fatal(errs)
	}
	seen := map[string]string{}
	for _, env := range []string{"dev", "staging", "qa"} {
		for _, team := range cfg.TeamNames() {
			ns, _ := cfg.Namespace(team, env)
			if other, dup := seen[ns]; dup {
				t.Errorf("%s/%s and %s share namespace %s", team, env, other, ns)
			}
			seen[ns] = team + "/" + env
		}
	}
}

// TestConfigBounds: pave.yaml lists at most MaxEnvironments environments
// and MaxTeams teams, and its platform values nest at most maxValueDepth
// levels.
func TestConfigBounds(t *testing.T) {
	head := "apiVersion: pave.dev/v1alpha1\nkind: Catalog\n"
	var envs, teams strings.Builder
	for i := range MaxEnvironments + 1 {
		fmt.Fprintf(&envs, "  - {name: e%d, cluster: c%d}\n", i, i)
	}
	for i := range MaxTeams + 1 {
		fmt.Fprintf(&teams, "  - {name: t%d, owners: [x]}\n", i)
	}
	deep := strings.Repeat("{a: ", maxValueDepth+1) + "1" + strings.Repeat("}", maxValueDepth+1)
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"environments", head + "environments:\n" + envs.String() + "teams: [{name: a, owners: [x]}]\n", "pave.yaml:3:1: environments: 33 environments, over the 32 pave supports"},
		{"teams", head + "environments: [{name: prod, cluster: prod}]\nteams:\n" + teams.String(), "pave.yaml:4:1: teams: 10001 teams, over the 10000 pave supports"},
		{"platform", head + "environments: [{name: prod, cluster: prod}]\nteams: [{name: a, owners: [x]}]\nplatform: {x: " + deep + "}\n", "pave.yaml:5:" + strconv.Itoa(15+4*maxValueDepth) + ": platform.x" + strings.Repeat(".a", maxValueDepth) + ": values nest more than 32 levels deep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := ParseConfig("pave.yaml", []byte(tc.yaml))
			if errs.Error() != tc.want {
				t.Errorf("errors:\n%v\nwant:\n%s", errs, tc.want)
			}
		})
	}
	// At the bounds, all is well.
	ok := head + "environments:\n" + strings.Join(strings.SplitAfter(envs.String(), "\n")[:MaxEnvironments], "") +
		"teams: [{name: a, owners: [x]}]\nplatform: {x: " + strings.Repeat("[", maxValueDepth) + strings.Repeat("]", maxValueDepth) + "}\n"
	if _, errs := ParseConfig("pave.yaml", []byte(ok)); errs != nil {
		t.Error(errs)
	}
}

func TestNotificationTargetsFor(t *testing.T) {
	cfg, errs := ParseConfig("pave.yaml", []byte(`apiVersion: pave.dev/v1alpha1
kind: Catalog
environments:
  - {name: staging, cluster: staging}
teams:
  - {name: payments, owners: [a@example.com], notify: [payments-chat, platform]}
  - {name: data, owners: [d@example.com]}
notifications:
  default: [platform]
  targets:
    - {name: platform, type: webhook, url: "https://hooks.example.com/pave", secret: platform-hmac}
    - {name: payments-chat, type: slack, secret: payments-slack, events: [failed, halted]}
    - {name: commits, type: github, repository: example/catalog, secret: gh-token}
`))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := cfg.TargetsFor("payments"); !slices.Equal(got, []string{"platform", "payments-chat"}) {
		t.Errorf("payments: %v", got)
	}
	if got := cfg.TargetsFor("data"); !slices.Equal(got, []string{"platform"}) {
		t.Errorf("data: %v", got)
	}
}
