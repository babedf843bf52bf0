package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/directup/directup/shared/apiclient"
	"github.com/directup/directup/shared/app/apptest"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/wire"
)

func TestProgressLine(t *testing.T) {
	got := strings.TrimRight(progressLine(50<<20, 100<<20, 4<<20), " ")
	if want := " 50.0 %  50.0 MB of 100.0 MB  4.0 MB/s  13 s left"; got != want {
		t.Errorf("progressLine = %q; want %q", got, want)
	}
	if got := strings.TrimRight(progressLine(1000, 5<<30, 0), " "); got != "  0.0 %  1000 B of 5.0 GB" {
		t.Errorf("without a speed: %q", got)
	}
	if got := duration(3725); got != "1 h 2 min" {
		t.Errorf("duration = %q", got)
	}
}

// The speed is over the window only: a fast start is forgotten.
func TestMeterWindow(t *testing.T) {
	m := newMeter(3)
	t0 := time.Unix(0, 0)
	m.add(t0, 0)
	m.add(t0.Add(time.Second), 100<<20)
	m.add(t0.Add(2*time.Second), 101<<20)
	m.add(t0.Add(3*time.Second), 102<<20)
	if got := m.add(t0.Add(4*time.Second), 103<<20); got != 1<<20 {
		t.Errorf("rate = %v; want 1 MiB/s", got)
	}
}

// -resume continues the caller's open upload of the file, started elsewhere, sending only
// the missing parts; a file with none is uploaded anew.
func TestResumeContinuesTheCallersOpenUpload(t *testing.T) {
	url := apptest.Local(t, apptest.JWTMode)
	jwt := functest.JWT(t, "alice")
	dir := t.TempDir()
	data := bytes.Repeat([]byte("directup"), (12<<20)/8+1)
	path := filepath.Join(dir, "film.bin")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(other, []byte("new file"), 0o600); err != nil {
		t.Fatal(err)
	}

	// Started on another device: one part of three sent.
	phone := &apiclient.Client{API: url, Header: http.Header{"Authorization": {"Bearer " + jwt}}}
	size := int64(len(data))
	up, err := phone.Start(context.Background(), &policy.InitiateRequest{Filename: "film.bin", ContentType: "application/octet-stream",
		Size: &size, PartSize: 5 << 20}, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	first, _ := up.CompactParts.Lookup()(1)
	if _, err := phone.PutPart(context.Background(), first, data[:5<<20], nil); err != nil {
		t.Fatal(err)
	}

	o := options{api: url, token: jwt, resume: true, parallel: 2}
	for _, f := range []struct {
		path, log string
		size      int64
	}{
		{path, "continuing upload " + up.UploadID + ": 1 of 3 parts stored\n", size},
		{other, "uploaded 8 bytes", 8},
	} {
		var out, log bytes.Buffer
		if err := run(context.Background(), o, f.path, &out, &log); err != nil {
			t.Fatal(err)
		}
		var done wire.Completed
		if err := json.Unmarshal(out.Bytes(), &done); err != nil || done.Size != f.size || !strings.Contains(log.String(), f.log) {
			t.Fatalf("%s: out %s, log %q", f.path, out.String(), log.String())
		}
	}
	if open, err := phone.List(context.Background()); err != nil || len(open) != 0 {
		t.Fatalf("still open: %+v, %v", open, err)
	}
}

// -resume against an API without callers says why it cannot.
func TestResumeNeedsAnAuthenticatedCaller(t *testing.T) {
	url := apptest.Local(t, nil)
	path := filepath.Join(t.TempDir(), "a.bin")
	os.WriteFile(path, []byte("abc"), 0o600)
	err := run(context.Background(), options{api: url, resume: true}, path, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-token") {
		t.Fatalf("err = %v", err)
	}
}
