// Command vulndb turns the OSV files of the Go vulnerability database (data/osv of the
// golang.org/x/vulndb module, which the module proxy serves) into the v1 layout that
// `govulncheck -db file:///DIR` reads: index/db.json, index/modules.json and ID/<id>.json
// (https://go.dev/security/vuln/database#api). It exists because vuln.go.dev, the usual
// source, cannot be reached from every build machine, while the module proxy can; the
// database version is then pinned like any module (Makefile VULNDB_VERSION).
//
//	go run ./vulndb -version V -osv $(go mod download -json golang.org/x/vulndb@V | …Dir)/data/osv -out DIR
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// entry is the part of an OSV record the index needs.
type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Affected []struct {
		Package struct {
			Name      string `json:"name"`
			Ecosystem string `json:"ecosystem"`
		} `json:"package"`
		Ranges []osvRange `json:"ranges"`
	} `json:"affected"`
}

type osvRange struct {
	Type   string `json:"type"`
	Events []struct {
		Introduced string `json:"introduced,omitempty"`
		Fixed      string `json:"fixed,omitempty"`
	} `json:"events"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Fixed    string    `json:"fixed,omitempty"`
}

type indexedModule struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

func main() {
	osvDir := flag.String("osv", "", "directory of OSV files (GO-YYYY-NNNN.json)")
	out := flag.String("out", "", "directory to write the database into (replaced)")
	version := flag.String("version", "", "the golang.org/x/vulndb pseudo-version the files come from")
	flag.Parse()
	if *osvDir == "" || *out == "" || *version == "" {
		fmt.Fprintln(os.Stderr, "usage: vulndb -osv DIR -out DIR -version v0.0.0-YYYYMMDDhhmmss-commit")
		os.Exit(2)
	}
	// The repository's OSV files carry no modified time (the deployment to vuln.go.dev adds
	// it): the commit time of the pinned version stands in for every entry that has none.
	commit, err := module.PseudoVersionTime(*version)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulndb: -version:", err)
		os.Exit(2)
	}
	n, modified, err := build(*osvDir, *out, commit)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulndb:", err)
		os.Exit(1)
	}
	fmt.Printf("vulndb: %d entries, last modified %s, in %s\n", n, modified.Format(time.RFC3339), *out)
}

func build(osvDir, out string, commit time.Time) (int, time.Time, error) {
	files, err := filepath.Glob(filepath.Join(osvDir, "GO-*.json"))
	if err != nil {
		return 0, time.Time{}, err
	}
	// A handful of files means a wrong directory, not a database: refuse to write an index
	// that would make every scan come back clean.
	if len(files) < 100 {
		return 0, time.Time{}, fmt.Errorf("%s holds %d OSV files; is it data/osv of golang.org/x/vulndb?", osvDir, len(files))
	}
	if err := os.RemoveAll(out); err != nil {
		return 0, time.Time{}, err
	}
	if err := os.MkdirAll(filepath.Join(out, "ID"), 0o755); err != nil {
		return 0, time.Time{}, err
	}
	if err := os.MkdirAll(filepath.Join(out, "index"), 0o755); err != nil {
		return 0, time.Time{}, err
	}
	var last time.Time
	modules := map[string]*indexedModule{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return 0, time.Time{}, err
		}
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			return 0, time.Time{}, fmt.Errorf("%s: %v", f, err)
		}
		if e.ID+".json" != filepath.Base(f) {
			return 0, time.Time{}, fmt.Errorf("%s: the file names entry %q", f, e.ID)
		}
		if e.Modified.IsZero() {
			e.Modified = commit
		}
		if e.Modified.After(last) {
			last = e.Modified
		}
		for _, a := range e.Affected {
			m := modules[a.Package.Name]
			if m == nil {
				m = &indexedModule{Path: a.Package.Name}
				modules[a.Package.Name] = m
			}
			m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: e.Modified, Fixed: latestFix(a.Ranges)})
		}
		if err := os.WriteFile(filepath.Join(out, "ID", e.ID+".json"), raw, 0o644); err != nil {
			return 0, time.Time{}, err
		}
	}
	list := make([]*indexedModule, 0, len(modules))
	for _, m := range modules {
		sort.Slice(m.Vulns, func(i, j int) bool { return m.Vulns[i].ID < m.Vulns[j].ID })
		list = append(list, m)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Path < list[j].Path })
	if err := writeJSON(filepath.Join(out, "index", "modules.json"), list); err != nil {
		return 0, time.Time{}, err
	}
	err = writeJSON(filepath.Join(out, "index", "db.json"), struct {
		Modified time.Time `json:"modified"`
	}{last})
	return len(files), last, err
}

// latestFix is the newest version that fixes the entry in these ranges, or "" when there is
// none or the vulnerability was brought back by a later version.
func latestFix(ranges []osvRange) string {
	v := func(s string) string { return "v" + strings.TrimPrefix(s, "v") }
	fixed := ""
	for _, r := range ranges {
		if r.Type != "SEMVER" {
			continue
		}
		for _, ev := range r.Events {
			if ev.Fixed != "" && (fixed == "" || semver.Compare(v(ev.Fixed), v(fixed)) > 0) {
				fixed = ev.Fixed
			}
		}
		for _, ev := range r.Events {
			if ev.Introduced != "" && ev.Introduced != "0" && fixed != "" && semver.Compare(v(ev.Introduced), v(fixed)) > 0 {
				return ""
			}
		}
	}
	return fixed
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
