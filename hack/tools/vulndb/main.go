// Command vulndb turns the Go vulnerability database as the module
// golang.org/x/vulndb ships it (one OSV file per entry in data/osv) into the
// layout govulncheck reads with -db file:///dir, described at
// https://go.dev/security/vuln/database#api:
//
//	index/db.json       {"modified": <time of the newest entry>}
//	index/modules.json  [{"path", "vulns": [{"id", "modified", "fixed"}]}]
//	ID/<id>.json        the OSV entry, byte for byte
//
// `make vuln` runs it on the module the Go module proxy serves, so CI needs
// no network but the proxy:
//
//	go run ./vulndb -src <vulndb module dir>/data/osv -version <its version> -o <dir>
//
// The output directory is written next to itself and renamed into place, so
// an interrupted run never leaves half a database behind.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

func main() {
	src := flag.String("src", "", "directory of OSV entries (data/osv of the golang.org/x/vulndb module)")
	version := flag.String("version", "", "version of the golang.org/x/vulndb module; its pseudo-version time dates the database")
	out := flag.String("o", "", "database directory to create")
	flag.Parse()
	if *src == "" || *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: vulndb -src <dir of OSV entries> [-version <module version>] -o <database dir>")
		os.Exit(2)
	}
	var modified time.Time
	if *version != "" {
		t, err := module.PseudoVersionTime(*version)
		if err != nil {
			fmt.Fprintf(os.Stderr, "vulndb: version %s: %v\n", *version, err)
			os.Exit(2)
		}
		modified = t
	}
	n, err := build(*src, *out, modified)
	if err != nil {
		fmt.Fprintf(os.Stderr, "vulndb: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "vulndb: %d entries from %s in %s\n", n, *src, *out)
}

// build writes the database made from the OSV entries in src to out, which
// must not exist yet, and returns the number of entries. Entries whose
// "modified" time is unset (the module's files carry the zero time; the
// published database sets it from git history) are dated modified.
func build(src, out string, modified time.Time) (int, error) {
	if _, err := os.Stat(out); err == nil {
		return 0, fmt.Errorf("%s already exists", out)
	}
	entries, err := readEntries(src)
	if err != nil {
		return 0, err
	}
	if len(entries) == 0 {
		return 0, fmt.Errorf("%s: no OSV entries", src)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return 0, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(out), filepath.Base(out)+".tmp-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if err := write(tmp, entries, modified); err != nil {
		return 0, err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, out); err != nil {
		return 0, err
	}
	return len(entries), nil
}

// entry is the part of an OSV entry the index is made of, with the entry's
// file as it was read.
type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
		Ranges []osvRange `json:"ranges"`
	} `json:"affected"`

	raw []byte
}

type osvRange struct {
	Type   string     `json:"type"`
	Events []osvEvent `json:"events"`
}

type osvEvent struct {
	Introduced string `json:"introduced,omitempty"`
	Fixed      string `json:"fixed,omitempty"`
}

func readEntries(dir string) ([]*entry, error) {
	files, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var entries []*entry
	for _, f := range files {
		if f.IsDir() || filepath.Ext(f.Name()) != ".json" {
			continue
		}
		path := filepath.Join(dir, f.Name())
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		e := &entry{raw: raw}
		if err := json.Unmarshal(raw, e); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if e.ID == "" || f.Name() != e.ID+".json" {
			return nil, fmt.Errorf("%s: entry id %q does not match the file name", path, e.ID)
		}
		for _, a := range e.Affected {
			if a.Package.Name == "" {
				return nil, fmt.Errorf("%s: an affected package has no name", path)
			}
		}
		entries = append(entries, e)
	}
	return entries, nil
}

type dbMeta struct {
	Modified time.Time `json:"modified"`
}

type moduleMeta struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	// Fixed is the version from which no range of the entry affects the
	// module, empty when some range has no fix. govulncheck looks an entry
	// up only for versions below it.
	Fixed string `json:"fixed,omitempty"`
}

func write(dir string, entries []*entry, modified time.Time) error {
	for _, sub := range []string{"index", "ID"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	db := dbMeta{Modified: modified}
	byPath := map[string]map[string]*moduleVuln{}
	for _, e := range entries {
		if err := os.WriteFile(filepath.Join(dir, "ID", e.ID+".json"), e.raw, 0o644); err != nil {
			return err
		}
		m := e.Modified
		if m.IsZero() {
			m = modified
		}
		if m.After(db.Modified) {
			db.Modified = m
		}
		for _, a := range e.Affected {
			vulns := byPath[a.Package.Name]
			if vulns == nil {
				vulns = map[string]*moduleVuln{}
				byPath[a.Package.Name] = vulns
			}
			fixed := fixedVersion(a.Ranges)
			if v, ok := vulns[e.ID]; ok {
				// The same module listed twice in one entry (the standard
				// library's packages often are): fixed where both are.
				if v.Fixed == "" || fixed == "" {
					v.Fixed = ""
				} else if compare(fixed, v.Fixed) > 0 {
					v.Fixed = fixed
				}
				continue
			}
			vulns[e.ID] = &moduleVuln{ID: e.ID, Modified: m, Fixed: fixed}
		}
	}
	modules := make([]moduleMeta, 0, len(byPath))
	for path, vulns := range byPath {
		m := moduleMeta{Path: path}
		for _, v := range vulns {
			m.Vulns = append(m.Vulns, *v)
		}
		sort.Slice(m.Vulns, func(i, j int) bool { return m.Vulns[i].ID < m.Vulns[j].ID })
		modules = append(modules, m)
	}
	sort.Slice(modules, func(i, j int) bool { return modules[i].Path < modules[j].Path })
	if err := writeJSON(filepath.Join(dir, "index", "modules.json"), modules); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, "index", "db.json"), db)
}

// fixedVersion is the version from which none of ranges affects the module:
// the highest fixed version when every range ends with a fix, else "".
func fixedVersion(ranges []osvRange) string {
	fixed := ""
	for _, r := range ranges {
		if r.Type != "SEMVER" || len(r.Events) == 0 {
			return ""
		}
		if r.Events[len(r.Events)-1].Fixed == "" {
			return "" // introduced again, or affected up to a last version
		}
		for _, ev := range r.Events {
			if ev.Fixed == "" {
				continue
			}
			if !semver.IsValid("v" + ev.Fixed) {
				return ""
			}
			if fixed == "" || compare(ev.Fixed, fixed) > 0 {
				fixed = ev.Fixed
			}
		}
	}
	return fixed
}

// compare compares two OSV versions (semantic versions without the "v").
func compare(a, b string) int {
	return semver.Compare("v"+a, "v"+b)
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
