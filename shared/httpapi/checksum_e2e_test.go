package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/directup/directup/shared/checksum"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/wire"
)

// The Go client computes the whole object's checksum from its parts as it sends them (a
// resumed upload reads the parts stored before once): with UPLOAD_REQUIRE_CHECKSUM its
// uploads complete, and the answer's crc64 is the file's.
func TestGoClientSendsTheChecksum(t *testing.T) {
	e := setup(t, func(p *policy.Policy) { p.RequireChecksum = true })
	ctx := context.Background()
	data := randomBytes(t, 3<<20+77)
	req := &policy.InitiateRequest{Filename: "c.bin", ContentType: "application/octet-stream", Size: size(len(data)), PartSize: 1 << 20}
	_, done, err := e.api.Upload(ctx, req, bytes.NewReader(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := checksum.ECMA.Format(checksum.ECMA.Checksum(data)); done.CRC64 != want {
		t.Errorf("crc64 %s, want %s", done.CRC64, want)
	}
	// Resumed: parts 1 and 3 were stored by an earlier run.
	up, err := e.api.InitiateAll(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var stored []wire.StoredPart
	for _, n := range []int{3, 1} {
		p, _ := up.CompactParts.Lookup()(n)
		etag, err := e.api.PutPart(ctx, p, data[int64(n-1)<<20:][:p.Size], nil)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, wire.StoredPart{PartNumber: n, ETag: etag, Size: p.Size})
	}
	if _, err := e.api.Resume(ctx, up, bytes.NewReader(data), nil, stored); err != nil {
		t.Fatal(err)
	}
}

// Over HTTP: a complete without the required checksum is 400 missing_field checksum, and
// a wrong one 422 checksum_mismatch; the body's checksum reaches the service.
func TestChecksumOverHTTP(t *testing.T) {
	e := setup(t, func(p *policy.Policy) { p.RequireChecksum = true })
	ctx := context.Background()
	data := []byte("hello, checksum")
	up, err := e.api.Initiate(ctx, &policy.InitiateRequest{Filename: "h.txt", ContentType: "text/plain", Size: size(len(data))})
	if err != nil {
		t.Fatal(err)
	}
	if up.ChecksumAlgorithm != checksum.CRC64ECMA || !up.ChecksumRequired {
		t.Errorf("initiate answer: %q %v", up.ChecksumAlgorithm, up.ChecksumRequired)
	}
	etag, err := e.api.PutPart(ctx, up.Parts[0], data, nil)
	if err != nil {
		t.Fatal(err)
	}
	parts := []wire.CompletedPart{{PartNumber: 1, ETag: etag}}
	_, err = e.api.Complete(ctx, up, parts)
	if a := apiError(t, err); a.Status != http.StatusBadRequest || a.Code != errcode.MissingField || a.Field != "checksum" {
		t.Errorf("without checksum: %+v", a)
	}
	_, err = e.api.CompleteWith(ctx, up, &wire.CompleteRequest{Parts: parts, Checksum: &wire.Checksum{CRC64ECMA: "12345"}})
	if a := apiError(t, err); a.Status != http.StatusUnprocessableEntity || a.Code != errcode.ChecksumMismatch || a.Field != "checksum" {
		t.Errorf("wrong checksum: %+v", a)
	}
}
