package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// complete runs cobra's hidden __complete command, as the shell scripts of
// `pave completion SHELL` do, and returns the words offered and the
// directive line.
func complete(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	code, stdout, stderr := pave(t, append([]string{"__complete"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	return lines[:len(lines)-1], lines[len(lines)-1]
}

// TestCompletion: TEAM/NAME, environments, templates and formats are
// completed from the catalog --catalog names, and nothing completes to
// file names where pave takes none.
func TestCompletion(t *testing.T) {
	const noFiles = ":4" // ShellCompDirectiveNoFileComp
	tests := []struct {
		name      string
		args      []string
		want      []string
		directive string
	}{
		{"services", []string{"check", "--catalog", exampleCatalog, ""}, []string{"data/events-consumer", "data/report-builder", "payments/checkout", "payments/ledger-worker", "payments/settlement", "storefront/catalog-api", "storefront/search-indexer", "storefront/web"}, noFiles},
		{"services by prefix, not those given", []string{"apply", "--catalog", exampleCatalog, "payments/checkout", "pay"}, []string{"payments/ledger-worker", "payments/settlement"}, noFiles},
		{"services of render", []string{"render", "--catalog", exampleCatalog, "storefront/w"}, []string{"storefront/web"}, noFiles},
		{"teams for pave new, no space after the slash", []string{"new", "--catalog", exampleCatalog, ""}, []string{"payments/", "storefront/", "data/"}, ":6"},
		{"one argument for pave new", []string{"new", "--catalog", exampleCatalog, "payments/refunds", ""}, nil, noFiles},
		{"environments", []string{"diff", "--catalog", exampleCatalog, "--env", ""}, []string{"staging", "prod"}, noFiles},
		{"environment by prefix", []string{"check", "--catalog", exampleCatalog, "--env", "pr"}, []string{"prod"}, noFiles},
		{"templates", []string{"new", "--catalog", exampleCatalog, "payments/refunds", "--template", ""}, []string{"cron-job", "web-service", "worker"}, noFiles},
		{"formats of check", []string{"check", "-o", ""}, []string{"text", "json", "markdown", "sarif", "junit", "github"}, noFiles},
		{"formats of validate", []string{"validate", "--output", ""}, []string{"text", "json"}, noFiles},
		{"colour", []string{"check", "--color", ""}, []string{"auto", "always", "never"}, noFiles},
		{"no file names for validate", []string{"validate", ""}, nil, noFiles},
		{"no catalog here, no words", []string{"check", "--catalog", t.TempDir(), ""}, nil, noFiles},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, directive := complete(t, tt.args...)
			if !slices.Equal(got, tt.want) {
				t.Errorf("words = %q, want %q", got, tt.want)
			}
			if directive != tt.directive {
				t.Errorf("directive = %s, want %s", directive, tt.directive)
			}
		})
	}
}

// TestCompletionScript: pave completion SHELL prints a script that calls
// pave __complete.
func TestCompletionScript(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		code, stdout, stderr := pave(t, "completion", shell)
		if code != 0 || !strings.Contains(stdout, "__complete") {
			t.Errorf("%s: exit %d, script without __complete\n%s", shell, code, stderr)
		}
	}
}

// TestCompletionDefaultCatalog: without --catalog, the words come from the
// current folder, pave's own default.
func TestCompletionDefaultCatalog(t *testing.T) {
	dir, err := filepath.Abs(exampleCatalog)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	got, _ := complete(t, "check", "--env", "sta")
	if !slices.Equal(got, []string{"staging"}) {
		t.Errorf("words = %q", got)
	}
}
