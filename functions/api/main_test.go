package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/directup/directup/shared/apiclient"
	"github.com/directup/directup/shared/policy"
)

// TestLocalModeBinary builds the command, starts it as the README's first command would,
// with no cloud settings, and uploads a file through it.
func TestLocalModeBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "api")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "PORT=0", "COS_BUCKET=", "LOCAL_COS_DIR="+t.TempDir())
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()

	api := ""
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "API:"); ok {
			api = strings.TrimSpace(rest)
			break
		}
	}
	if api == "" {
		t.Fatal("the banner did not name the API address")
	}
	go func() {
		for sc.Scan() {
		}
	}()

	data := make([]byte, 3<<20+7)
	rand.Read(data)
	size := int64(len(data))
	c := &apiclient.Client{API: api}
	up, done, err := c.Upload(ctx, &policy.InitiateRequest{Filename: "x.bin", ContentType: "application/octet-stream", Size: &size, PartSize: 1 << 20}, bytes.NewReader(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	if up.PartCount != 4 || done.Size != size || done.CRC64 == "" {
		t.Fatalf("upload %+v -> %+v", up, done)
	}
}
