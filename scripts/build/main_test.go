package main

import (
	"archive/zip"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReproducible builds the SCF web-function zip twice into different folders: the
// bytes must be identical, and the zip must hold the binary and scf_bootstrap, executable.
func TestReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-builds the function twice")
	}
	var zips [][]byte
	for _, out := range []string{t.TempDir(), t.TempDir()} {
		path, _, err := build("../..", out, targets[1])
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		zips = append(zips, b)
		if filepath.Base(path) != "scf-web.zip" {
			t.Fatalf("zip %s", path)
		}
	}
	if !bytes.Equal(zips[0], zips[1]) {
		t.Fatal("two builds of the same source differ")
	}
	zr, err := zip.NewReader(bytes.NewReader(zips[0]), int64(len(zips[0])))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if f.Mode().Perm() != 0o755 {
			t.Errorf("%s mode %v", f.Name, f.Mode())
		}
	}
	if len(names) != 2 || names[0] != "main" || names[1] != "scf_bootstrap" {
		t.Errorf("zip holds %v", names)
	}
}

// Production builds link no embedded store; development builds (go run) do.
func TestProductionBuildsLinkNoLocalStore(t *testing.T) {
	for _, tt := range targets {
		cmd := exec.Command("go", "list", "-deps", "-tags", productionTags(tt), tt.pkg)
		cmd.Dir = "../.."
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: go list: %v\n%s", tt.name, err, out)
		}
		for _, local := range []string{"/shared/localcos\n", "/shared/localmode\n"} {
			if strings.Contains(string(out), local) {
				t.Errorf("%s links %s", tt.name, strings.TrimSpace(local))
			}
		}
	}
	cmd := exec.Command("go", "list", "-deps", "./functions/api")
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "/shared/localmode\n") {
		t.Errorf("go run ./functions/api no longer links local mode: %v", err)
	}
}
