package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestHelpPrintsSwitchesPlainly: pflag prints a boolean flag as
// "--prune[=true|false]"; pave's help prints "--prune".
func TestHelpPrintsSwitchesPlainly(t *testing.T) {
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			walk(sub, append(append([]string{}, path...), sub.Name()))
		}
	}
	walk(newRootCmd(buildInfo{}), nil)
	for _, path := range paths {
		for _, args := range [][]string{append(append([]string{}, path...), "--help"), append([]string{"help"}, path...)} {
			code, stdout, stderr := pave(t, args...)
			if code != 0 {
				t.Errorf("%v: exit %d\n%s", args, code, stderr)
			}
			if strings.Contains(stdout, "[=") || !strings.Contains(stdout, "  -h, --help  ") {
				t.Errorf("%v:\n%s", args, stdout)
			}
		}
	}
	_, stdout, _ := pave(t, "apply", "--help")
	for _, want := range []string{"      --prune   ", "      --wait   ", "      --allow-mass-prune   "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("apply --help lacks %q:\n%s", want, stdout)
		}
	}
}

// TestSwitchesParseAfterHelp: the plain help does not change how the
// switches parse.
func TestSwitchesParseAfterHelp(t *testing.T) {
	root := newRootCmd(buildInfo{})
	root.SetOut(&bytes.Buffer{})
	root.SetArgs([]string{"apply", "--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	apply, _, err := root.Find([]string{"apply"})
	if err != nil {
		t.Fatal(err)
	}
	if err := apply.Flags().Parse([]string{"--prune", "--wait=false", "--resync=true"}); err != nil {
		t.Fatal(err)
	}
	for flag, want := range map[string]bool{"prune": true, "wait": false, "resync": true, "allow-mass-prune": false} {
		if got, err := apply.Flags().GetBool(flag); err != nil || got != want {
			t.Errorf("--%s = %v (%v), want %v", flag, got, err, want)
		}
	}
}

// TestUsageErrorsPointAtTheCommandsHelp: a mistake in how a command was
// called points at that command's --help, not pave's.
func TestUsageErrorsPointAtTheCommandsHelp(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"check", "--bogus"}, "pave: unknown flag: --bogus\nRun 'pave check --help' for usage.\n"},
		{[]string{"policy", "test", "--bogus"}, "Run 'pave policy test --help' for usage.\n"},
		{[]string{"validate", "x"}, "Run 'pave validate --help' for usage.\n"},
		{[]string{"check", "--catalog", exampleCatalog, "payments"}, "pave: expected TEAM/NAME, got \"payments\"\nRun 'pave check --help' for usage.\n"},
		{[]string{"check", "--catalog", exampleCatalog, "-o", "xml"}, "Run 'pave check --help' for usage.\n"},
		{[]string{"check", "--catalog", exampleCatalog, "--pr", "3"}, "pave: --pr needs --base REF: it concerns the review of a change\nRun 'pave check --help' for usage.\n"},
		{[]string{"apply", "--catalog", exampleCatalog}, "pave: no --cluster given\nRun 'pave apply --help' for usage.\n"},
		{[]string{"new", "payments", "--catalog", exampleCatalog}, "Run 'pave new --help' for usage.\n"},
		{[]string{"bogus"}, "Run 'pave --help' for usage.\n"},
	}
	for _, tt := range tests {
		code, stdout, stderr := pave(t, tt.args...)
		if code != exitUsage || !strings.HasSuffix(stderr, tt.want) {
			t.Errorf("%v: exit %d\nstdout: %s\nstderr: %s\nwant suffix: %s", tt.args, code, stdout, stderr, tt.want)
		}
	}
}
