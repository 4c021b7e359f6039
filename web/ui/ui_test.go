package ui

import (
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"
)

func TestFSHoldsTheApp(t *testing.T) {
	for _, name := range []string{
		"static/index.html",
		"static/app.js",
		"static/app.css",
		"static/logo.svg",
	} {
		t.Run(name, func(t *testing.T) {
			b, err := fs.ReadFile(FS, name)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) == 0 {
				t.Fatal("empty")
			}
		})
	}
}

var (
	importRE   = regexp.MustCompile(`(?m)^\s*import\s+(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]`)
	externalRE = regexp.MustCompile(`(?i)(?:src|href)\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//|fetch\(\s*["']https?:|import\s*\(?\s*["']https?:`)
)

// TestModulesResolve checks that every module import names a file in FS,
// so a typo never ships as a blank page.
func TestModulesResolve(t *testing.T) {
	err := fs.WalkDir(FS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		b, err := fs.ReadFile(FS, p)
		if err != nil {
			return err
		}
		for _, m := range importRE.FindAllStringSubmatch(string(b), -1) {
			spec := m[1]
			t.Run(p+" imports "+spec, func(t *testing.T) {
				if !strings.HasPrefix(spec, "./") && !strings.HasPrefix(spec, "../") {
					t.Fatalf("import %q is not relative", spec)
				}
				if _, err := fs.Stat(FS, path.Join(path.Dir(p), spec)); err != nil {
					t.Fatalf("import %q: %v", spec, err)
				}
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNothingFetchedFromElsewhere checks that no page loads a script,
// style, font or image from another origin.
func TestNothingFetchedFromElsewhere(t *testing.T) {
	err := fs.WalkDir(FS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".svg") {
			return err
		}
		b, err := fs.ReadFile(FS, p)
		if err != nil {
			return err
		}
		t.Run(p, func(t *testing.T) {
			if loc := externalRE.FindIndex(b); loc != nil {
				t.Fatalf("external reference: %q", b[loc[0]:min(len(b), loc[1]+40)])
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
