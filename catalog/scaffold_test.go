package catalog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestScaffold(t *testing.T) {
	fsys := testCatalog(t)
	fsys["templates/cron-job/values.schema.json"] = &fstest.MapFile{Data: []byte(`{"properties":{"image":{},"schedule":{},"size":{}},"required":["schedule"]}`)}
	cat, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		opts    ScaffoldOptions
		want    []string
		notWant []string
		wantErr string
	}{
		{
			name: "web service with defaults",
			opts: ScaffoldOptions{Team: "payments", Name: "refunds"},
			want: []string{"  name: refunds  #", "  team: payments  #", "  template: web-service  #", `  image: "registry.example.com/payments/refunds:0.1.0"`, "  port: 8080  #", "  size: small  #", "  replicas: 2  #", "#   staging: {}", "#   prod: {}"},
		},
		{
			name:    "cron job takes a schedule, not a port",
			opts:    ScaffoldOptions{Team: "payments", Name: "nightly", Template: "cron-job", Image: "registry.example.com/payments/nightly:2.0.0"},
			want:    []string{"  template: cron-job  #", `  schedule: "0 3 * * *"`, `  image: "registry.example.com/payments/nightly:2.0.0"`},
			notWant: []string{"port:", "replicas:", "ingress"},
		},
		{name: "unknown team", opts: ScaffoldOptions{Team: "sales", Name: "crm"}, wantErr: `unknown team "sales" (pave.yaml teams: payments, storefront)`},
		{name: "unknown template", opts: ScaffoldOptions{Team: "payments", Name: "x", Template: "lambda"}, wantErr: `unknown template "lambda"`},
		{name: "bad name", opts: ScaffoldOptions{Team: "payments", Name: "Refunds"}, wantErr: `service name "Refunds" must be a DNS-1123 label`},
		{name: "bad image", opts: ScaffoldOptions{Team: "payments", Name: "x", Image: "registry.example.com/UPPER:1"}, wantErr: "the new service would not be valid"},
		{name: "bad port", opts: ScaffoldOptions{Team: "payments", Name: "x", Port: 99999}, wantErr: "spec.port: 99999 is outside 1-65535"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file, content, err := cat.Scaffold(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := "services/" + tt.opts.Team + "/" + tt.opts.Name + "/service.yaml"; file != want {
				t.Errorf("file = %s, want %s", file, want)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(content), w) {
					t.Errorf("missing %q in:\n%s", w, content)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(string(content), w) {
					t.Errorf("unexpected %q in:\n%s", w, content)
				}
			}
			// The scaffold loads as a valid service of the catalog.
			fsys[file] = &fstest.MapFile{Data: content}
			defer delete(fsys, file)
			again, err := Load(fsys)
			if err != nil || len(again.Errors) > 0 {
				t.Fatalf("scaffold does not validate: %v %v", err, again.Errors)
			}
		})
	}
}

func TestWriteScaffoldNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	file := "services/payments/refunds/service.yaml"
	if err := WriteScaffold(dir, file, []byte("first\n")); err != nil {
		t.Fatal(err)
	}
	err := WriteScaffold(dir, file, []byte("second\n"))
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second write: err = %v", err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, file))
	if string(data) != "first\n" {
		t.Errorf("file was changed: %q", data)
	}
}
