// Command build makes the deployable zips, reproducibly (-trimpath, stripped, no build id,
// fixed timestamps and modes in the zip):
//
//	dist/scf/main + dist/scf.zip                    SCF Go1 runtime (linux/amd64, handler main)
//	dist/scf-web/{main,scf_bootstrap} + .zip        SCF web function (listens on 0.0.0.0:9000)
//	dist/lambda-arm64/bootstrap + .zip              Lambda provided.al2023, arm64 (-tags lambda.norpc)
//	dist/lambda-amd64/bootstrap + .zip              Lambda provided.al2023, x86_64
//	dist/scf-queue/main + .zip                      the queue function for SCF (Go1)
//	dist/lambda-queue-arm64/bootstrap + .zip        the queue function for Lambda (SQS), arm64
//	dist/scf-events/main + .zip                     the storage-triggered function for SCF (COS trigger)
//	dist/lambda-events-arm64/bootstrap + .zip       the storage-triggered function for Lambda (S3 events)
//
// Run: go run ./scripts/build [-out dist] [-only scf,lambda-arm64].
package main

import (
	"archive/zip"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

type target struct {
	name, pkg, goarch, binary string
	tags                      string
	extra                     map[string]string // more files in the zip
}

// scfBootstrap starts the binary as an SCF web function: plain HTTP on 0.0.0.0:9000.
const scfBootstrap = "#!/bin/bash\nexport HOST=0.0.0.0 PORT=9000\nexec ./main\n"

var targets = []target{
	{name: "scf", pkg: "./functions/api", goarch: "amd64", binary: "main"},
	{name: "scf-web", pkg: "./functions/api", goarch: "amd64", binary: "main", extra: map[string]string{"scf_bootstrap": scfBootstrap}},
	{name: "lambda-arm64", pkg: "./functions/api", goarch: "arm64", binary: "bootstrap", tags: "lambda.norpc"},
	{name: "lambda-amd64", pkg: "./functions/api", goarch: "amd64", binary: "bootstrap", tags: "lambda.norpc"},
	{name: "scf-queue", pkg: "./functions/queue", goarch: "amd64", binary: "main"},
	{name: "lambda-queue-arm64", pkg: "./functions/queue", goarch: "arm64", binary: "bootstrap", tags: "lambda.norpc"},
	{name: "scf-events", pkg: "./functions/events", goarch: "amd64", binary: "main"},
	{name: "lambda-events-arm64", pkg: "./functions/events", goarch: "arm64", binary: "bootstrap", tags: "lambda.norpc"},
}

// productionTags are the target's build tags plus nolocal: deployed functions never link
// local mode's embedded store (functions/api/local.go).
func productionTags(t target) string {
	if t.tags == "" {
		return "nolocal"
	}
	return "nolocal," + t.tags
}

// epoch is the timestamp of every zip entry, so equal inputs give equal zips.
var epoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

func main() {
	out := flag.String("out", "dist", "output folder")
	only := flag.String("only", "", "comma list of targets (default all)")
	flag.Parse()
	for _, t := range targets {
		if *only != "" && !strings.Contains(","+*only+",", ","+t.name+",") {
			continue
		}
		zipPath, size, err := build(".", *out, t)
		if err != nil {
			fmt.Fprintln(os.Stderr, "build:", t.name+":", err)
			os.Exit(1)
		}
		fmt.Printf("%s\t%d bytes\n", zipPath, size)
	}
}

// build compiles the target from the module at root into out.
func build(root, out string, t target) (string, int64, error) {
	dir := filepath.Join(out, t.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", 0, err
	}
	abs, err := filepath.Abs(filepath.Join(dir, t.binary))
	if err != nil {
		return "", 0, err
	}
	args := []string{"build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", abs, "-tags", productionTags(t)}
	cmd := exec.Command("go", append(args, t.pkg)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+t.goarch, "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", 0, err
	}
	for name, body := range t.extra {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			return "", 0, err
		}
	}
	zipPath := dir + ".zip"
	if err := zipDir(zipPath, dir); err != nil {
		return "", 0, err
	}
	st, err := os.Stat(zipPath)
	if err != nil {
		return "", 0, err
	}
	return zipPath, st.Size(), nil
}

// zipDir writes every file of dir at the zip's root, sorted, executable, at epoch.
func zipDir(zipPath, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	f, err := os.Create(zipPath)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	for _, name := range names {
		hdr := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: epoch}
		hdr.SetMode(0o755)
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		src, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		_, err = io.Copy(w, src)
		src.Close()
		if err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}
