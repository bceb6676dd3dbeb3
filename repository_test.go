package otelkinesis_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestNoOutsideDocumentCited: no file of the repository cites sections of a design
// document that is not part of it. The reasoning is written where it matters, in the
// project's own words. The walk starts at the module root and leaves out .git and
// node_modules (and the directories .gitignore names for generated files).
func TestNoOutsideDocumentCited(t *testing.T) {
	// "DESIGN", then the section sign, maybe on the next line of a comment; spelled so that
	// this file does not cite it.
	citation := regexp.MustCompile(`DESIGN[\s/#*]*` + "\u00a7")
	// Left out wherever they are: .git (a directory, or a file in a worktree) and npm's
	// node_modules; and what .gitignore keeps out of the repository at its root.
	skipName := map[string]bool{".git": true, "node_modules": true}
	skipPath := map[string]bool{".peers": true, "bin": true, filepath.Join("bench", "results"): true}
	var found []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != "." && (skipName[d.Name()] || skipPath[path]) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, at := range citation.FindAllIndex(data, -1) {
			start := bytes.LastIndexByte(data[:at[0]], '\n') + 1
			end := len(data)
			if n := bytes.IndexByte(data[at[0]:], '\n'); n >= 0 {
				end = at[0] + n
			}
			found = append(found, fmt.Sprintf("%s:%d: %s", path, bytes.Count(data[:at[0]], []byte("\n"))+1,
				strings.TrimSpace(string(data[start:end]))))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) > 0 {
		t.Errorf("%d lines cite the outside design document; say it in the project's words instead:\n%s",
			len(found), strings.Join(found, "\n"))
	}
}
