package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/vuln/scan"
)

// dbTime is the time of the pseudo-version v0.0.0-20261105234957-….
var dbTime = time.Date(2026, 11, 5, 23, 49, 57, 0, time.UTC)

func buildTestDB(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "db")
	n, err := build("testdata/osv", out, dbTime)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("build read %d entries, want 4 (README.txt is not one)", n)
	}
	return out
}

func TestBuildWritesTheIndexAndEveryEntry(t *testing.T) {
	out := buildTestDB(t)

	got, err := os.ReadFile(filepath.Join(out, "index", "modules.json"))
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile("testdata/modules.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := json.Compact(&want, golden); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		var pretty bytes.Buffer
		_ = json.Indent(&pretty, got, "", "  ")
		t.Errorf("index/modules.json differs from testdata/modules.golden.json:\n%s", pretty.String())
	}

	db, err := os.ReadFile(filepath.Join(out, "index", "db.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"modified":"2026-11-05T23:49:57Z"}`; string(db) != want {
		t.Errorf("index/db.json = %s, want %s", db, want)
	}

	for _, id := range []string{"GO-9999-0001", "GO-9999-0002", "GO-9999-0003", "GO-9999-0004"} {
		src, err := os.ReadFile(filepath.Join("testdata", "osv", id+".json"))
		if err != nil {
			t.Fatal(err)
		}
		dst, err := os.ReadFile(filepath.Join(out, "ID", id+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(src, dst) {
			t.Errorf("ID/%s.json is not the entry as the module ships it", id)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "ID", "README.json")); !os.IsNotExist(err) {
		t.Errorf("a file that is not an entry was copied: %v", err)
	}
}

func TestFixedVersion(t *testing.T) {
	ev := func(kind, v string) osvEvent {
		if kind == "introduced" {
			return osvEvent{Introduced: v}
		}
		return osvEvent{Fixed: v}
	}
	semverRange := func(events ...osvEvent) osvRange { return osvRange{Type: "SEMVER", Events: events} }
	for _, tc := range []struct {
		name   string
		ranges []osvRange
		want   string
	}{
		{"fixed once", []osvRange{semverRange(ev("introduced", "0"), ev("fixed", "1.2.0"))}, "1.2.0"},
		{"fixed twice", []osvRange{semverRange(ev("introduced", "0"), ev("fixed", "1.2.0"), ev("introduced", "1.5.0"), ev("fixed", "1.5.3"))}, "1.5.3"},
		{"introduced again", []osvRange{semverRange(ev("introduced", "0"), ev("fixed", "1.2.0"), ev("introduced", "1.5.0"))}, ""},
		{"never fixed", []osvRange{semverRange(ev("introduced", "0"))}, ""},
		{"two ranges, both fixed", []osvRange{
			semverRange(ev("introduced", "1.26.0"), ev("fixed", "1.26.9")),
			semverRange(ev("introduced", "0"), ev("fixed", "1.25.12")),
		}, "1.26.9"},
		{"two ranges, one open", []osvRange{
			semverRange(ev("introduced", "0"), ev("fixed", "1.25.12")),
			semverRange(ev("introduced", "1.27.0")),
		}, ""},
		{"pseudo-version fix", []osvRange{semverRange(ev("introduced", "0"), ev("fixed", "0.58.1-0.20261009181718-2f1f834330b2"))}, "0.58.1-0.20261009181718-2f1f834330b2"},
		{"not semver", []osvRange{semverRange(ev("introduced", "0"), ev("fixed", "release-7"))}, ""},
		{"no ranges", nil, ""},
		{"another range type", []osvRange{{Type: "GIT", Events: []osvEvent{ev("introduced", "0"), ev("fixed", "abc")}}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fixedVersion(tc.ranges); got != tc.want {
				t.Errorf("fixedVersion = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBuildRefusesBadInput(t *testing.T) {
	entry := func(id string) string {
		return `{"id": "` + id + `", "affected": [{"package": {"name": "example.com/m"}}]}`
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"id and file name differ", map[string]string{"GO-9999-0001.json": entry("GO-9999-0002")}, `GO-9999-0001.json: entry id "GO-9999-0002" does not match the file name`},
		{"no id", map[string]string{"GO-9999-0001.json": `{"affected": []}`}, `GO-9999-0001.json: entry id "" does not match the file name`},
		{"not JSON", map[string]string{"GO-9999-0001.json": `{"id": `}, "GO-9999-0001.json: unexpected end of JSON input"},
		{"package without a name", map[string]string{"GO-9999-0001.json": `{"id": "GO-9999-0001", "affected": [{"package": {}}]}`}, "GO-9999-0001.json: an affected package has no name"},
		{"no entries", map[string]string{"README.md": "hello"}, "no OSV entries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := t.TempDir()
			for name, data := range tc.files {
				if err := os.WriteFile(filepath.Join(src, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out := filepath.Join(t.TempDir(), "db")
			_, err := build(src, out, dbTime)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("build error = %v, want one containing %q", err, tc.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("a database was left behind: %v", err)
			}
		})
	}

	out := buildTestDB(t)
	if _, err := build("testdata/osv", out, dbTime); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("building over an existing database: error = %v", err)
	}
}

// govulncheck runs govulncheck (the same code as the binary `make vuln`
// builds) with the database and returns its text output and exit code.
func govulncheck(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := scan.Command(context.Background(), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = strings.NewReader("")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	code := 0
	var exit interface{ ExitCode() int }
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("govulncheck %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String() + stderr.String(), code
}

// The database is what govulncheck reads, and what `make vuln` depends on:
// a reachable finding fails the run, an imported but uncalled one does not.
func TestGovulncheckFailsOnlyOnReachableFindings(t *testing.T) {
	db := "file://" + buildTestDB(t)

	out, code := govulncheck(t, "-db", db, "-C", "testdata/reach", "./...")
	if code != 3 || !strings.Contains(out, "GO-9999-0001") || !strings.Contains(out, "url.Parse") {
		t.Errorf("a program calling url.Parse: exit code %d, want 3 with a trace to url.Parse:\n%s", code, out)
	}

	out, code = govulncheck(t, "-db", db, "-C", "testdata/unreached", "./...")
	if code != 0 || strings.Contains(out, "Vulnerability #1") {
		t.Errorf("a program that never calls url.Parse: exit code %d, want 0 and no finding:\n%s", code, out)
	}
}

// Query mode looks entries up through index/modules.json: an entry whose
// "fixed" is too low in the index would be missed here.
func TestGovulncheckLooksUpAffectedVersions(t *testing.T) {
	db := "file://" + buildTestDB(t)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"example.com/lib@v1.1.5", []string{"GO-9999-0002", "GO-9999-0003", "GO-9999-0004"}},
		{"example.com/lib@v1.5.1", []string{"GO-9999-0002", "GO-9999-0003"}},
		{"example.com/lib@v1.6.0", []string{"GO-9999-0003"}},
		{"example.com/other@v0.3.0", []string{"GO-9999-0004"}},
		{"example.com/other@v0.3.1", nil},
		{"example.com/unknown@v1.0.0", nil},
	} {
		t.Run(tc.query, func(t *testing.T) {
			out, code := govulncheck(t, "-db", db, "-mode", "query", "-format", "json", tc.query)
			if code != 0 {
				t.Fatalf("exit code %d:\n%s", code, out)
			}
			var got []string
			dec := json.NewDecoder(strings.NewReader(out))
			for dec.More() {
				var msg struct {
					OSV *struct {
						ID string `json:"id"`
					} `json:"osv"`
				}
				if err := dec.Decode(&msg); err != nil {
					t.Fatalf("%v in:\n%s", err, out)
				}
				if msg.OSV != nil {
					got = append(got, msg.OSV.ID)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("entries = %v, want %v", got, tc.want)
			}
		})
	}
}
