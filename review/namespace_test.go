package review_test

import (
	"testing"

	"github.com/pave-dev/pave/review"
	"github.com/pave-dev/pave/review/reviewtest"
)

// TestTeamNamespaceAnnouncedOnlyWhenNew: a review announces +Namespace
// for a new service only when its team's Namespace does not exist at
// base; when another service of the team renders it there already, the
// new service adds nothing to it.
func TestTeamNamespaceAnnouncedOnlyWhenNew(t *testing.T) {
	service := func(team, name string) string {
		return "apiVersion: pave.dev/v1alpha1\nkind: Service\nmetadata:\n  name: " + name + "\n  team: " + team + "\nspec:\n  template: worker\n  image: registry.example.com/" + team + "/" + name + ":1.0.0\n  port: 9090\n  replicas: 2\n"
	}
	for _, tt := range []struct {
		name          string
		team          string
		wantNamespace bool
	}{
		{"a team with services", "payments", false},
		{"a team's first service", "growth", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			repo := reviewtest.New(t, exampleCatalog)
			repo.Replace("pave.yaml", "teams:\n", "teams:\n  - name: growth\n    owners: [growth@example.com]\n")
			repo.Commit("team growth")
			repo.Write("services/"+tt.team+"/signup/service.yaml", service(tt.team, "signup"))
			repo.Commit("add signup")
			rep := run(t, repo, "HEAD~1", "HEAD", "")
			wantPairs(t, rep, map[string]string{tt.team + "/signup (staging)": review.ChangeAdded, tt.team + "/signup (prod)": review.ChangeAdded})
			for _, env := range []string{"staging", "prod"} {
				res := result(t, rep, tt.team+"/signup", env)
				announced := false
				for _, c := range res.Diff {
					if c.Kind == "Namespace" {
						announced = c.Action == "added" && c.Name == tt.team+"-"+env
					}
				}
				if announced != tt.wantNamespace {
					t.Errorf("%s: +Namespace announced = %v, want %v; diff: %+v", env, announced, tt.wantNamespace, res.Diff)
				}
				if len(res.Diff) == 0 {
					t.Errorf("%s: the service's own objects are not announced: %+v", env, res)
				}
			}
		})
	}
}
