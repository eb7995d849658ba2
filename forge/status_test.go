package forge_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pave-dev/pave/forge"
	"github.com/pave-dev/pave/forge/forgetest"
)

const statusSHA = "0123456789abcdef0123456789abcdef01234567"

func TestCommitStatuses(t *testing.T) {
	ctx := context.Background()
	long := strings.Repeat("é", 300)

	gsrv := forgetest.NewGitHub(t, "acme", "catalog", "gh-token")
	gh, err := forge.NewGitHub(forge.GitHubConfig{Token: "gh-token", Repository: "acme/catalog", APIURL: gsrv.URL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := gh.CreateStatus(ctx, statusSHA, forge.CommitStatus{State: forge.StatusFailure, Context: "pave: payments/checkout (prod)", Description: long}); err != nil {
		t.Fatal(err)
	}
	got := gsrv.Statuses()
	if len(got) != 1 || got[0].SHA != statusSHA || got[0].State != "failure" || got[0].Context != "pave: payments/checkout (prod)" || utf8.RuneCountInString(got[0].Description) != 140 {
		t.Errorf("GitHub statuses: %+v", got)
	}
	if err := gh.CreateStatus(ctx, "not-a-sha", forge.CommitStatus{State: forge.StatusSuccess, Context: "c"}); err == nil {
		t.Error("a status on a commit GitHub does not know: no error")
	}

	lsrv := forgetest.NewGitLab(t, "42", "gl-token")
	gl, err := forge.NewGitLab(forge.GitLabConfig{Token: "gl-token", APIURL: lsrv.URL(), ProjectID: "42"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := gl.SetStatus(ctx, statusSHA, forge.CommitStatus{State: forge.StatusSuccess, Context: "pave: payments/checkout (staging)", Description: long}); err != nil {
		t.Fatal(err)
	}
	lgot := lsrv.Statuses()
	if len(lgot) != 1 || lgot[0].State != "success" || lgot[0].Context != "pave: payments/checkout (staging)" || utf8.RuneCountInString(lgot[0].Description) != 255 {
		t.Errorf("GitLab statuses: %+v", lgot)
	}
}
