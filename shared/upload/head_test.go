package upload_test

import (
	"encoding/base64"
	"testing"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

func pngOf(n int, fill byte) []byte {
	b := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, n-16)...)
	for i := 16; i < n; i++ {
		b[i] = fill
	}
	return b
}

// The file's first bytes sent at initiate ("head") refuse a contradiction before anything
// reaches storage, and the stored object must begin with them: a client lying in its head
// is refused at complete, the object deleted — with content verification on or off.
func TestHeadRefusesBeforeTheFirstByte(t *testing.T) {
	html := []byte("<!doctype html><script>alert(1)</script>")
	for _, verify := range []bool{true, false} {
		r := newRig(t, func(p *policy.Policy) { p.VerifyContent = verify })
		before := r.local.Requests()
		size := int64(len(html))
		_, err := r.svc.Initiate(bg, &policy.InitiateRequest{Filename: "cat.png", ContentType: "image/png", Size: &size,
			Head: base64.StdEncoding.EncodeToString(html)})
		wantError(t, "HTML named .png", err, 422, errcode.ContentMismatch, "head")
		if n := r.local.Requests() - before; n != 0 {
			t.Fatalf("verify %v: a refused head reached storage %d times", verify, n)
		}

		// A head of one PNG, then other bytes (a PNG too: only the head can tell).
		sent, stored := pngOf(5000, 1), pngOf(5000, 2)
		size = int64(len(stored))
		in, err := r.svc.Initiate(bg, &policy.InitiateRequest{Filename: "cat.png", ContentType: "image/png", Size: &size,
			Head: base64.StdEncoding.EncodeToString(sent[:upload.MaxHeadBytes])})
		if err != nil {
			t.Fatal(err)
		}
		etag, _ := send(t, in.Parts[0], stored)
		_, err = r.svc.Complete(bg, in.Token, in.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: etag}})
		wantError(t, "a lying head", err, 422, errcode.ContentMismatch, "head")
		if info, _ := r.store.Stat(bg, in.Key); info.Exists {
			t.Fatalf("verify %v: the object of a lying head stays", verify)
		}

		// The truth completes.
		in, err = r.svc.Initiate(bg, &policy.InitiateRequest{Filename: "cat.png", ContentType: "image/png", Size: &size,
			Head: base64.StdEncoding.EncodeToString(stored[:3072])})
		if err != nil {
			t.Fatal(err)
		}
		etag, _ = send(t, in.Parts[0], stored)
		if _, err := r.svc.Complete(bg, in.Token, in.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: etag}}); err != nil {
			t.Fatalf("verify %v: an honest head: %v", verify, err)
		}
	}
}

func TestHeadInputRules(t *testing.T) {
	r := newRig(t, nil)
	size := int64(10000)
	for name, head := range map[string]string{
		"not base64":           "not base64!",
		"over 4 KB":            base64.StdEncoding.EncodeToString(make([]byte, 4097)),
		"short of 3 KB":        base64.StdEncoding.EncodeToString(make([]byte, 100)),
		"longer than the file": base64.StdEncoding.EncodeToString(make([]byte, 3072)),
	} {
		req := &policy.InitiateRequest{Filename: "a.bin", ContentType: "application/octet-stream", Size: &size, Head: head}
		if name == "longer than the file" {
			small := int64(3000)
			req.Size = &small
		}
		_, err := r.svc.Initiate(bg, req)
		wantError(t, name, err, 400, errcode.InvalidField, "head")
	}
	// A whole small file is its own head.
	small := int64(5)
	if _, err := r.svc.Initiate(bg, &policy.InitiateRequest{Filename: "a.txt", ContentType: "text/plain", Size: &small,
		Head: base64.StdEncoding.EncodeToString([]byte("hello"))}); err != nil {
		t.Fatal(err)
	}
}
