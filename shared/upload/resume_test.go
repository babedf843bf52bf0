package upload_test

import (
	"context"
	"testing"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/records"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

func (r *rig) start(t *testing.T, ctx context.Context, size int64, fingerprint string) *upload.Initiated {
	t.Helper()
	in, err := r.svc.Initiate(ctx, &policy.InitiateRequest{Filename: "clip.bin", ContentType: "application/octet-stream",
		Size: &size, PartSize: 1 << 20, Fingerprint: fingerprint})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// Resume anywhere: GET /uploads lists the caller's uploads in progress — never another
// caller's — with the parts stored and a fresh token that finishes the upload from another
// device; completed and aborted uploads disappear; there is no caller to list for without
// authentication.
func TestOpenUploadsAreTheCallersOwn(t *testing.T) {
	r := newRig(t, nil)
	alice, bob := upload.WithCaller(bg, "alice"), upload.WithCaller(bg, "bob")
	data := randomBytes(2<<20+7, 9)
	before := r.local.Requests()
	first := r.start(t, alice, int64(len(data)), "v1:abc")
	if n := r.local.Requests() - before; n != 2 {
		t.Errorf("an authenticated initiate: %d storage requests, want 2 (the upload and its record)", n)
	}
	second := r.start(t, alice, 5, "")
	r.start(t, bob, 5, "")
	etag, _ := send(t, first.Parts[0], data[:1<<20])

	list, err := r.svc.ListOpen(alice)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].UploadID != first.UploadID || list[1].UploadID != second.UploadID {
		t.Fatalf("alice's open uploads: %+v", list)
	}
	got := list[0]
	if got.Fingerprint != "v1:abc" || got.Filename != "clip.bin" || got.Size != int64(len(data)) || got.PartCount != 3 ||
		len(got.Parts) != 1 || got.Parts[0].PartNumber != 1 || got.Parts[0].ETag != etag || got.Token == "" {
		t.Fatalf("the first upload as listed: %+v", got)
	}
	if l, _ := r.svc.ListOpen(bob); len(l) != 1 {
		t.Fatalf("bob sees %d uploads", len(l))
	}
	if _, err := r.svc.ListOpen(bg); errcode.As(err).Code != errcode.NotAvailable {
		t.Fatalf("anonymous: %v", err)
	}
	if _, err := r.svc.PresignParts(bob, got.Token, got.UploadID, []int{2}, ""); errcode.As(err).Code != errcode.CallerMismatch {
		t.Fatalf("alice's listed token from bob: %v", err)
	}

	// "Another device": only the listing's token.
	urls, err := r.svc.PresignParts(alice, got.Token, got.UploadID, []int{2, 3}, "")
	if err != nil {
		t.Fatal(err)
	}
	parts := []wire.CompletedPart{{PartNumber: 1, ETag: etag}}
	for i, p := range urls.Parts {
		e, _ := send(t, p, data[(i+1)<<20:min((i+2)<<20, len(data))])
		parts = append(parts, wire.CompletedPart{PartNumber: p.PartNumber, ETag: e})
	}
	if _, err := r.svc.Complete(alice, got.Token, got.UploadID, parts); err != nil {
		t.Fatal(err)
	}
	if err := r.svc.Abort(alice, second.Token, second.UploadID); err != nil {
		t.Fatal(err)
	}
	if l, err := r.svc.ListOpen(alice); err != nil || len(l) != 0 {
		t.Fatalf("after complete and abort: %+v %v", l, err)
	}
	if paths, _ := r.store.ListKeys(bg, "uploads/.directup/open/", 1000); len(paths) != 1 {
		t.Fatalf("records left after the listing dropped the ended uploads: %v (bob's only should stay)", paths)
	}
}

// A record in the caller's folder that this deployment did not seal, or that was moved
// there from another caller's folder, is never answered; nor is an expired upload.
func TestOpenUploadsRefuseForgedRecords(t *testing.T) {
	r := newRig(t, nil)
	alice, bob := upload.WithCaller(bg, "alice"), upload.WithCaller(bg, "bob")
	theirs := r.start(t, bob, 5, "")
	book := records.New(r.store, "uploads/", []byte("0123456789abcdef0123456789abcdef"))
	other := records.New(r.store, "uploads/", []byte("another deployment's secret, 32b"))
	// Bob's record copied into alice's folder under its own id, and one sealed elsewhere.
	raw, _, err := r.store.GetMarker(bg, book.PathIn(records.Open, "bob", theirs.UploadID))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.store.PutRecord(bg, book.PathIn(records.Open, "alice", theirs.UploadID), raw); err != nil {
		t.Fatal(err)
	}
	// A record of another deployment's seal naming bob's open upload as alice's: answered,
	// it would hand alice a token for bob's upload.
	if err := other.PutIn(bg, records.Open, "alice", theirs.UploadID, map[string]any{"claims": map[string]any{
		"b": theirs.Bucket, "k": theirs.Key, "u": theirs.UploadID, "s": 5, "p": 1 << 20, "e": time.Now().Add(time.Hour).Unix(), "sub": "alice"}}); err != nil {
		t.Fatal(err)
	}
	if l, err := r.svc.ListOpen(alice); err != nil || len(l) != 0 {
		t.Fatalf("alice's folder with forged records: %+v %v", l, err)
	}

	late := newRig(t, func(p *policy.Policy) { p.TokenTTL = 2 * time.Hour })
	late.start(t, alice, 5, "")
	if l, _ := late.svc.ListOpen(alice); len(l) != 1 {
		t.Fatalf("before expiry: %d", len(l))
	}
	expired, err := upload.NewService(late.store, func() policy.Policy { p := policy.Default(); p.TokenTTL = 2 * time.Hour; return p }(),
		[]byte("0123456789abcdef0123456789abcdef"), upload.WithClock(func() time.Time { return time.Now().Add(3 * time.Hour) }))
	if err != nil {
		t.Fatal(err)
	}
	if l, err := expired.ListOpen(alice); err != nil || len(l) != 0 {
		t.Fatalf("after the token's end: %+v %v", l, err)
	}
}
