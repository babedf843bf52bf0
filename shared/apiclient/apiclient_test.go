package apiclient_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/directup/directup/shared/apiclient"
	"github.com/directup/directup/shared/app/apptest"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/policy"
)

func as(url, jwt string) *apiclient.Client {
	return &apiclient.Client{API: url, Header: http.Header{"Authorization": {"Bearer " + jwt}}}
}

func data(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// The fingerprint is directup.js's: either client finds uploads the other started.
// The expected values are fingerprintOf's in Node for the same files.
func TestFingerprintIsTheBrowserClients(t *testing.T) {
	b := data(200000)
	for _, c := range []struct {
		name string
		size int
		want string
	}{
		{"vidéo.bin", 200000, "v1:b6e91bfd68733aa26250faaeb89e76507d457d6f251cbbd7c81d5416f40c10b5"},
		{"small.bin", 1000, "v1:26f993162bf35cfbddf85531ca6320f08c06961c3c16ce382b1fc8af1f8a87b3"},
	} {
		got, err := apiclient.Fingerprint(c.name, int64(c.size), bytes.NewReader(b[:c.size]))
		if err != nil || got != c.want {
			t.Errorf("Fingerprint(%s) = %q, %v; want %q", c.name, got, err, c.want)
		}
	}
	if head, _ := apiclient.Head(bytes.NewReader(b[:10]), 10); head != "AAECAwQFBgcICQ==" {
		t.Errorf("Head = %q", head)
	}
}

// An upload started on one device, one part sent, is listed for its caller (and no one
// else) and finished on another device from the list: only the missing parts are sent.
func TestListAndContinueOnAnotherDevice(t *testing.T) {
	url := apptest.Local(t, apptest.JWTMode)
	ctx := context.Background()
	file := data(12<<20 + 1)
	size := int64(len(file))
	req := &policy.InitiateRequest{Filename: "long video.bin", ContentType: "application/octet-stream", Size: &size, PartSize: 5 << 20}
	phone := as(url, functest.JWT(t, "alice"))
	up, err := phone.Start(ctx, req, bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	first, _ := up.CompactParts.Lookup()(1)
	if _, err := phone.PutPart(ctx, first, file[:5<<20], nil); err != nil {
		t.Fatal(err)
	}

	laptop := as(url, functest.JWT(t, "alice"))
	open, err := laptop.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fp, _ := apiclient.Fingerprint("long video.bin", size, bytes.NewReader(file))
	found := apiclient.Find(open, "long video.bin", size, fp)
	if found == nil || found.UploadID != up.UploadID || len(found.Parts) != 1 || found.Token == "" {
		t.Fatalf("listed %+v; want upload %s with part 1", open, up.UploadID)
	}
	if other, err := as(url, functest.JWT(t, "bob")).List(ctx); err != nil || len(other) != 0 {
		t.Fatalf("bob lists %+v, %v; want nothing", other, err)
	}
	var puts atomic.Int64
	laptop.HTTP = &http.Client{Transport: countPuts{&puts}}
	_, done, err := laptop.Continue(ctx, found, bytes.NewReader(file), nil)
	if err != nil {
		t.Fatal(err)
	}
	if done.Size != size || puts.Load() != 2 {
		t.Fatalf("completed %+v with %d part PUTs; want %d bytes with 2", done, puts.Load(), size)
	}
	if open, err := laptop.List(ctx); err != nil || len(open) != 0 {
		t.Fatalf("after complete: %+v, %v", open, err)
	}
}

// countPuts counts the part PUTs (sent in parallel) it carries.
type countPuts struct{ n *atomic.Int64 }

func (c countPuts) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut {
		c.n.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// An API without callers has none to list for; a file whose head contradicts its type is
// refused before anything is created.
func TestAnonymousListAndHeadRefusal(t *testing.T) {
	url := apptest.Local(t, nil)
	c := &apiclient.Client{API: url}
	var e *apiclient.Error
	if _, err := c.List(context.Background()); !errors.As(err, &e) || e.Status != 501 || e.Code != "not_available" {
		t.Fatalf("List: %v; want 501 not_available", err)
	}
	html := bytes.Repeat([]byte("<!DOCTYPE html><html><script>alert(1)</script></html>"), 100)
	size := int64(len(html))
	_, err := c.Start(context.Background(), &policy.InitiateRequest{Filename: "cat.png", ContentType: "image/png", Size: &size},
		bytes.NewReader(html))
	if !errors.As(err, &e) || e.Status != 422 || e.Code != "content_mismatch" || e.Field != "head" {
		t.Fatalf("Start of HTML as PNG: %v; want 422 content_mismatch (head)", err)
	}
}
