package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

const exampleCatalog = "../../catalog-repo-example"

// pave runs the command in-process and returns its exit code and output.
func pave(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// copyCatalog copies the example catalog to a temporary folder.
func copyCatalog(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "catalog")
	if err := os.CopyFS(dst, os.DirFS(exampleCatalog)); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestValidateExampleCatalog(t *testing.T) {
	code, stdout, stderr := pave(t, "validate", "--catalog", exampleCatalog)
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "8 services valid, 0 invalid") {
		t.Errorf("stderr = %q", stderr)
	}
}

func TestValidateReportsBrokenServiceAndKeepsOthers(t *testing.T) {
	dir := copyCatalog(t)
	broken := filepath.Join(dir, "services/payments/checkout/service.yaml")
	if err := os.WriteFile(broken, []byte(`apiVersion: pave.dev/v1alpha1
kind: Service
metadata:
  name: checkout
  team: payments
spec:
  template: web-service
  image: registry.example.com/payments/checkout:1.4.2
  port: "8080"
  sise: small
`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := pave(t, "validate", "--catalog", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	want := broken + `:9:9: spec.port: expected an integer, got a string ("8080")
` + broken + `:10:3: unknown field "sise" in spec (did you mean "size"?)
`
	if stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}
	if !strings.Contains(stderr, "7 services valid, 1 invalid") {
		t.Errorf("stderr = %q", stderr)
	}

	code, stdout, _ = pave(t, "validate", "--catalog", dir, "--format", "json")
	if code != 1 {
		t.Fatalf("json: exit %d", code)
	}
	var report validateReport
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatalf("json: %v\n%s", err, stdout)
	}
	if len(report.Errors) != 2 || report.Errors[0] != (reportError{File: broken, Line: 9, Column: 9, Message: `spec.port: expected an integer, got a string ("8080")`}) {
		t.Errorf("json errors = %+v", report.Errors)
	}
	valid := 0
	for _, s := range report.Services {
		if s.Valid {
			valid++
		} else if s.File != broken {
			t.Errorf("invalid service %s", s.File)
		}
	}
	if valid != 7 || len(report.Services) != 8 {
		t.Errorf("json services: %d valid of %d", valid, len(report.Services))
	}
}

func TestValidateExitCodes(t *testing.T) {
	empty := t.TempDir()
	badConfig := copyCatalog(t)
	if err := os.WriteFile(filepath.Join(badConfig, "pave.yaml"), []byte("apiVersion: pave.dev/v1alpha1\nkind: Catalog\nteams: []\nenvironments: oops\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		output string
	}{
		{"unknown flag", []string{"validate", "--bogus"}, 2, "unknown flag: --bogus"},
		{"unknown format", []string{"validate", "--catalog", exampleCatalog, "--format", "xml"}, 2, `-o: unknown format "xml" (text, json)`},
		{"no pave.yaml", []string{"validate", "--catalog", empty}, 2, "pave.yaml: not found"},
		{"missing folder", []string{"validate", "--catalog", filepath.Join(empty, "nope")}, 2, "no such file or directory"},
		{"invalid pave.yaml", []string{"validate", "--catalog", badConfig}, 2, "pave.yaml:4:15: environments: expected a list, got a string"},
		{"extra argument", []string{"validate", "x"}, 2, `unknown command "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := pave(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if !strings.Contains(stdout+stderr, tt.output) {
				t.Errorf("output does not contain %q:\n%s%s", tt.output, stdout, stderr)
			}
		})
	}
}

func TestNewCreatesAValidServiceOnce(t *testing.T) {
	dir := copyCatalog(t)
	args := []string{"new", "payments/refunds", "--catalog", dir, "--image", "registry.example.com/payments/refunds:1.0.0", "--port", "8080"}
	code, stdout, stderr := pave(t, args...)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	file := filepath.Join(dir, "services/payments/refunds/service.yaml")
	for _, w := range []string{"Created " + file, "pave check payments/refunds --catalog " + dir, "git commit"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("next steps do not mention %q:\n%s", w, stdout)
		}
	}
	first, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(first), "image: \"registry.example.com/payments/refunds:1.0.0\"") || !strings.Contains(string(first), "port: 8080") {
		t.Errorf("file:\n%s", first)
	}
	if code, out, errOut := pave(t, "validate", "--catalog", dir); code != 0 {
		t.Fatalf("validate after new: exit %d\n%s%s", code, out, errOut)
	}

	// Twice: refused, file untouched.
	if err := os.WriteFile(file, append(first, "# edited\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = pave(t, args...)
	if code != 1 || !strings.Contains(stderr, "already exists") {
		t.Errorf("second run: exit %d, %s", code, stderr)
	}
	if again, _ := os.ReadFile(file); string(again) != string(first)+"# edited\n" {
		t.Error("second run changed the file")
	}
}

func TestNewRefusals(t *testing.T) {
	dir := copyCatalog(t)
	tests := []struct {
		args   []string
		code   int
		output string
	}{
		{[]string{"new", "sales/crm"}, 1, `unknown team "sales"`},
		{[]string{"new", "payments/refunds", "--template", "lambda"}, 1, `unknown template "lambda"`},
		{[]string{"new", "payments"}, 2, `expected TEAM/NAME`},
		{[]string{"new"}, 2, `accepts 1 arg(s)`},
	}
	for _, tt := range tests {
		code, stdout, stderr := pave(t, append(tt.args, "--catalog", dir)...)
		if code != tt.code || !strings.Contains(stdout+stderr, tt.output) {
			t.Errorf("%v: exit %d (want %d), output:\n%s%s", tt.args, code, tt.code, stdout, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "services/sales")); !os.IsNotExist(err) {
		t.Error("a refused scaffold left files behind")
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := pave(t, "version")
	if code != 0 || !strings.Contains(stdout, "pave dev") || !strings.Contains(stdout, "commit: ") || !strings.Contains(stdout, "go: go1.") {
		t.Errorf("exit %d: %s", code, stdout)
	}
}

func TestValidateRejectsExceptionsForUnknownPolicies(t *testing.T) {
	dir := copyCatalog(t)
	file := filepath.Join(dir, "exceptions/data/report-builder.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(data), "policy: readonly-root-filesystem", "policy: readonly-rootfs", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := pave(t, "validate", "--catalog", dir)
	want := file + `:10:13: exceptions[0].policy: unknown policy "readonly-rootfs"`
	if code != 1 || !strings.HasPrefix(stdout, want) || !strings.Contains(stderr, "7 services valid, 1 invalid") {
		t.Errorf("exit %d\nstdout: %s\nwant prefix: %s\nstderr: %s", code, stdout, want, stderr)
	}
}

// TestServiceWithoutTemplateGetsTheDefault: pave.yaml's defaults.template
// (web-service in the example) is what a service without spec.template
// renders with; such a service used to be invalid.
func TestServiceWithoutTemplateGetsTheDefault(t *testing.T) {
	dir := copyCatalog(t)
	file := filepath.Join(dir, "services/payments/checkout/service.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	without := strings.Replace(string(data), "  template: web-service\n", "", 1)
	if without == string(data) {
		t.Fatal("the example checkout no longer sets spec.template: web-service")
	}
	if err := os.WriteFile(file, []byte(without), 0o644); err != nil {
		t.Fatal(err)
	}
	_, want, _ := pave(t, "render", "--catalog", exampleCatalog, "--env", "prod", "payments/checkout")
	code, got, stderr := pave(t, "render", "--catalog", dir, "--env", "prod", "payments/checkout")
	if code != 0 || got != want || want == "" {
		t.Errorf("render without spec.template: exit %d\n%s\ndiffers from the example's render", code, stderr)
	}
	if code, stdout, stderr := pave(t, "check", "--catalog", dir, "payments/checkout"); code != 0 {
		t.Errorf("check: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestValidateExplainsATab: a service.yaml indented with a tab is reported
// at the tab, in plain words; the other services are still valid.
func TestValidateExplainsATab(t *testing.T) {
	dir := copyCatalog(t)
	file := filepath.Join(dir, "services/payments/checkout/service.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(data), "\n  image:", "\n\timage:", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := pave(t, "validate", "--catalog", dir)
	want := file + ":8:1: invalid YAML: YAML does not allow tabs; indent with spaces (found a tab character that violates indentation)\n"
	if code != 1 || stdout != want || !strings.Contains(stderr, "7 services valid, 1 invalid") {
		t.Errorf("exit %d\nstdout: %s\nwant:   %s\nstderr: %s", code, stdout, want, stderr)
	}
}

// TestBatchGC: check and render run with the batch collector settings
// unless GOGC or GOMEMLIMIT says otherwise; serve keeps Go's defaults.
func TestBatchGC(t *testing.T) {
	for args, want := range map[string]bool{"check": true, "check --base main --catalog x": true, "render payments/checkout": true, "serve --repo x": false, "apply": false} {
		cmd, _, err := newRootCmd(buildInfo{}).Find(strings.Fields(args))
		if err != nil {
			t.Fatal(err)
		}
		if got := isBatch(cmd.Name()); got != want {
			t.Errorf("pave %s: batch %v, want %v", args, got, want)
		}
	}
	percent, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	defer func() { debug.SetGCPercent(percent); debug.SetMemoryLimit(limit) }()

	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	batchGC()
	if got := debug.SetGCPercent(100); got != batchGOGC {
		t.Errorf("GOGC %d, want %d", got, batchGOGC)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got != batchMemoryLimit {
		t.Errorf("memory limit %d, want %d", got, batchMemoryLimit)
	}

	// The environment wins.
	t.Setenv("GOGC", "100")
	t.Setenv("GOMEMLIMIT", "4GiB")
	batchGC()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC=100 set: GOGC %d", got)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got != math.MaxInt64 {
		t.Errorf("with GOMEMLIMIT set: memory limit %d", got)
	}
}
