package upload_test

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/directup/directup/shared/checksum"
	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/s3"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// sendParallel sends every part of an upload at once, last part first, as a browser with
// parallel connections may finish them; it returns the parts named for the complete, each
// with its own CRC in algo (what a client computes while sending), and the whole object's
// checksum combined from those CRCs — never from a second pass over data.
func sendParallel(t *testing.T, in *upload.Initiated, data []byte, algo *checksum.Algo) ([]wire.CompletedPart, uint64) {
	t.Helper()
	parts := make([]wire.CompletedPart, len(in.Parts))
	crcs := make([]uint64, len(in.Parts))
	var wg sync.WaitGroup
	for i := len(in.Parts) - 1; i >= 0; i-- {
		wg.Go(func() {
			p := in.Parts[i]
			chunk := data[int64(p.PartNumber-1)*in.PartSize:][:p.Size]
			etag, err := wire.PutPart(bg, http.DefaultClient, p, chunk, nil)
			if err != nil {
				t.Error(err)
			}
			crcs[i] = algo.Checksum(chunk)
			parts[i] = wire.CompletedPart{PartNumber: p.PartNumber, ETag: etag}
			if algo == checksum.NVME {
				parts[i].Checksum = algo.Format(crcs[i])
			}
		})
	}
	wg.Wait()
	whole := crcs[0]
	for i, p := range in.Parts[1:] {
		whole = algo.Combine(whole, crcs[i+1], p.Size)
	}
	return parts, whole
}

func sumOf(algo *checksum.Algo, v uint64) *wire.Checksum {
	if algo == checksum.NVME {
		return &wire.Checksum{CRC64NVME: algo.Format(v)}
	}
	return &wire.Checksum{CRC64ECMA: algo.Format(v)}
}

// "Every byte checked end to end" on the local store (COS's algorithm): the combined CRC
// of parts sent in parallel and out of order is the store's own, the complete costs what it
// cost without it, and the answer carries it.
func TestChecksumOnCOS(t *testing.T) {
	r := newRig(t, nil)
	data := randomBytes(5<<19, 1) // 2.5 MiB: three parts of 1 MiB
	in := r.initiate(t, int64(len(data)), 1<<20)
	if in.ChecksumAlgorithm != checksum.CRC64ECMA || len(in.Parts) != 3 {
		t.Fatalf("initiate: algorithm %q, %d parts", in.ChecksumAlgorithm, len(in.Parts))
	}
	parts, whole := sendParallel(t, in, data, checksum.ECMA)
	if whole != checksum.ECMA.Checksum(data) {
		t.Fatal("the combined CRC is not the file's")
	}
	before := r.local.Requests()
	done, err := r.svc.CompleteWith(bg, in.Token, in.UploadID, &wire.CompleteRequest{Parts: parts, Checksum: sumOf(checksum.ECMA, whole)})
	if err != nil {
		t.Fatal(err)
	}
	if done.CRC64 != checksum.ECMA.Format(whole) {
		t.Errorf("answer crc64 %s, want %s", done.CRC64, checksum.ECMA.Format(whole))
	}
	if n := r.local.Requests() - before; n != 2 {
		t.Errorf("%d storage requests; want 2 (the complete and its read)", n)
	}
}

// A checksum that is not the store's: the object is deleted, 422 checksum_mismatch naming
// both values, told as upload.rejected.
func TestGuaranteeWrongChecksumIsRefused(t *testing.T) {
	r := newRig(t, nil)
	data := randomBytes(3<<19, 2)
	in := r.initiate(t, int64(len(data)), 1<<20)
	parts, whole := sendParallel(t, in, data, checksum.ECMA)
	wrong := whole ^ 1
	_, err := r.svc.CompleteWith(bg, in.Token, in.UploadID, &wire.CompleteRequest{Parts: parts, Checksum: sumOf(checksum.ECMA, wrong)})
	wantError(t, "wrong checksum", err, 422, errcode.ChecksumMismatch, "checksum")
	if msg := errcode.As(err).Message; !strings.Contains(msg, checksum.ECMA.Format(whole)) || !strings.Contains(msg, checksum.ECMA.Format(wrong)) {
		t.Errorf("the refusal does not name both values: %s", msg)
	}
	r.gone(t, in)
	if got := r.events.types(); len(got) != 1 || got[0] != events.Rejected {
		t.Errorf("events %v; want one upload.rejected", got)
	}
}

// UPLOAD_REQUIRE_CHECKSUM: a complete without one is refused before storage is asked;
// a checksum in another algorithm or form is refused the same way.
func TestGuaranteeChecksumRequired(t *testing.T) {
	r := newRig(t, func(p *policy.Policy) { p.RequireChecksum = true })
	data := randomBytes(1000, 3)
	in := r.initiate(t, int64(len(data)), 0)
	if !in.ChecksumRequired {
		t.Error("the initiate answer does not say a checksum is required")
	}
	parts, whole := sendParallel(t, in, data, checksum.ECMA)
	before := r.local.Requests()
	for _, tt := range []struct {
		sum   *wire.Checksum
		code  string
		field string
	}{
		{nil, errcode.MissingField, "checksum"},
		{&wire.Checksum{}, errcode.MissingField, "checksum"},
		{&wire.Checksum{CRC64NVME: checksum.NVME.Format(whole)}, errcode.InvalidField, "checksum.crc64nvme"},
		{&wire.Checksum{CRC64ECMA: "0x10"}, errcode.InvalidField, "checksum.crc64ecma"},
		{&wire.Checksum{CRC64ECMA: "18446744073709551616"}, errcode.InvalidField, "checksum.crc64ecma"},
	} {
		_, err := r.svc.CompleteWith(bg, in.Token, in.UploadID, &wire.CompleteRequest{Parts: parts, Checksum: tt.sum})
		wantError(t, "checksum "+tt.field, err, 400, tt.code, tt.field)
	}
	if n := r.local.Requests() - before; n != 0 {
		t.Errorf("%d storage requests for refused completes; want none", n)
	}
	if _, err := r.svc.CompleteWith(bg, in.Token, in.UploadID, &wire.CompleteRequest{Parts: parts, Checksum: sumOf(checksum.ECMA, whole)}); err != nil {
		t.Fatal(err)
	}
}

// counting counts the requests a store sends.
type counting struct{ n atomic.Int64 }

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func s3Service(t *testing.T, mutate func(*policy.Policy)) (*upload.Service, *s3.Client, *counting, *recordedEvents) {
	t.Helper()
	endpoint := functest.Versitygw(t, "checksums")
	hc := &counting{}
	c, err := s3.New(s3.Config{Bucket: "checksums", Region: "us-east-1", Endpoint: endpoint},
		credentials.Static{AccessKeyID: functest.S3Creds[0], SecretAccessKey: functest.S3Creds[1]}, &http.Client{Transport: hc})
	if err != nil {
		t.Fatal(err)
	}
	p := policy.Default()
	p.DefaultPartSize = 5 << 20
	if mutate != nil {
		mutate(&p)
	}
	ev := &recordedEvents{}
	svc, err := upload.NewService(c, p, []byte("0123456789abcdef0123456789abcdef"), upload.WithEvents(ev))
	if err != nil {
		t.Fatal(err)
	}
	return svc, c, hc, ev
}

// On S3 (versitygw) the upload is created with a full-object CRC-64/NVME: the combined CRC
// of parts sent in parallel is S3's own; with each part's CRC named the complete is one
// request (and the event's read); without them the store lists the parts for theirs.
func TestChecksumOnS3(t *testing.T) {
	svc, c, hc, ev := s3Service(t, nil)
	data := randomBytes(11<<20+123, 4) // three parts of 5 MiB, the last short
	for _, named := range []bool{true, false} {
		size := int64(len(data))
		in, err := svc.Initiate(bg, &policy.InitiateRequest{Filename: "f.bin", ContentType: "application/octet-stream", Size: &size})
		if err != nil {
			t.Fatal(err)
		}
		if in.ChecksumAlgorithm != checksum.CRC64NVME || len(in.Parts) != 3 {
			t.Fatalf("initiate: algorithm %q, %d parts", in.ChecksumAlgorithm, len(in.Parts))
		}
		parts, whole := sendParallel(t, in, data, checksum.NVME)
		if whole != checksum.NVME.Checksum(data) {
			t.Fatal("the combined CRC is not the file's")
		}
		if !named {
			for i := range parts {
				parts[i].Checksum = ""
			}
		}
		before := hc.n.Load()
		done, err := svc.CompleteWith(bg, in.Token, in.UploadID, &wire.CompleteRequest{Parts: parts, Checksum: sumOf(checksum.NVME, whole)})
		if err != nil {
			t.Fatal(err)
		}
		if done.CRC64NVME != checksum.NVME.Format(whole) {
			t.Errorf("answer crc64nvme %s, want %s", done.CRC64NVME, checksum.NVME.Format(whole))
		}
		want := int64(2) // the complete and the event's read
		if !named {
			want = 3 // and the listing
		}
		if n := hc.n.Load() - before; n != want {
			t.Errorf("parts' checksums named %v: %d storage requests; want %d", named, n, want)
		}
		if info, _ := c.Stat(bg, in.Key); info.CRC64NVME != done.CRC64NVME {
			t.Errorf("HEAD tells crc64nvme %q", info.CRC64NVME)
		}
		ev.mu.Lock()
		last := ev.all[len(ev.all)-1]
		ev.mu.Unlock()
		if last.Type != events.Completed || last.CRC64NVME != done.CRC64NVME {
			t.Errorf("the event tells %s crc64nvme %q", last.Type, last.CRC64NVME)
		}
	}
}

// On S3 the declared checksum goes to the complete and S3 checks it itself: a wrong one
// makes no object — what the key held stays — the upload is aborted, and the refusal
// (422 checksum_mismatch) names S3's value of the stored parts beside the declared one. A
// part's wrong checksum is refused by S3 too (409 invalid_part).
func TestGuaranteeWrongChecksumIsRefusedOnS3(t *testing.T) {
	svc, c, _, ev := s3Service(t, func(p *policy.Policy) { p.ClientKeys = true })
	const key = "uploads/s3/kept.bin"
	upload1 := func(data []byte, spoil func(parts []wire.CompletedPart, whole uint64) uint64) (*upload.Initiated, uint64, error) {
		size := int64(len(data))
		in, err := svc.Initiate(bg, &policy.InitiateRequest{Key: key, ContentType: "application/octet-stream", Size: &size})
		if err != nil {
			t.Fatal(err)
		}
		parts, whole := sendParallel(t, in, data, checksum.NVME)
		_, err = svc.CompleteWith(bg, in.Token, in.UploadID, &wire.CompleteRequest{Parts: parts, Checksum: sumOf(checksum.NVME, spoil(parts, whole))})
		return in, whole, err
	}
	first := randomBytes(6<<20, 5)
	if _, _, err := upload1(first, func(_ []wire.CompletedPart, w uint64) uint64 { return w }); err != nil {
		t.Fatal(err)
	}
	kept := checksum.NVME.Format(checksum.NVME.Checksum(first))
	for _, tt := range []struct {
		name  string
		spoil func(parts []wire.CompletedPart, whole uint64) uint64
		code  string
	}{
		{"whole", func(_ []wire.CompletedPart, w uint64) uint64 { return w ^ 1<<40 }, errcode.ChecksumMismatch},
		{"part", func(p []wire.CompletedPart, w uint64) uint64 { p[0].Checksum = p[1].Checksum; return w }, errcode.InvalidPart},
	} {
		in, whole, err := upload1(randomBytes(6<<20, 6), tt.spoil)
		if errcode.As(err).Code != tt.code {
			t.Fatalf("%s: %v; want %s", tt.name, err, tt.code)
		}
		if msg := errcode.As(err).Message; tt.code == errcode.ChecksumMismatch &&
			(!strings.Contains(msg, checksum.NVME.Format(whole)) || !strings.Contains(msg, checksum.NVME.Format(whole^1<<40))) {
			t.Errorf("the refusal does not name both values: %s", msg)
		}
		if info, err := c.Stat(bg, key); err != nil || info.CRC64NVME != kept {
			t.Errorf("%s: the object the key held was replaced (%v, %+v)", tt.name, err, info)
		}
		if _, err := c.ListParts(bg, key, in.UploadID); tt.code == errcode.ChecksumMismatch && errcode.As(err).Code != errcode.UploadNotFound {
			t.Errorf("%s: the upload was not aborted (%v)", tt.name, err)
		}
	}
	if got := ev.types(); len(got) != 2 || got[0] != events.Completed || got[1] != events.Rejected {
		t.Errorf("events %v; want upload.completed, upload.rejected", got)
	}
}

// Temporary keys: the checksum declared when asking for keys is the one the storage-
// triggered function holds the object to (the object's crc64ecma as COS reports it);
// required, the request for keys without one is refused.
func TestGuaranteeKeysDeclareTheChecksum(t *testing.T) {
	e := newHolesEnv(t, func(p *policy.Policy) { p.RequireChecksum = true }, false)
	ctx := upload.WithCaller(bg, "alice")
	n := int64(len(png56))
	req := func(key string) *policy.InitiateRequest {
		return &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &n}
	}
	_, err := e.svc.KeysFor(ctx, req("uploads/alice/none.png"), nil)
	wantError(t, "keys without a checksum", err, 400, errcode.MissingField, "checksum")
	right := checksum.ECMA.Checksum(png56)
	for _, tt := range []struct {
		key  string
		sum  uint64
		keep bool
	}{{"uploads/alice/right.png", right, true}, {"uploads/alice/wrong.png", right ^ 1, false}} {
		if _, err := e.svc.KeysFor(ctx, req(tt.key), sumOf(checksum.ECMA, tt.sum)); err != nil {
			t.Fatal(err)
		}
		put(t, e.store.Client, tt.key, "image/png", png56) // what the keys' SDK stores
		if err := e.svc.ObjectCreated(bg, tt.key); err != nil {
			t.Fatal(err)
		}
		if e.exists(t, tt.key) != tt.keep {
			t.Errorf("%s: exists %v, want %v", tt.key, !tt.keep, tt.keep)
		}
	}
	evs := e.told.all()
	if last := evs[len(evs)-1]; last.Type != events.Rejected || !strings.HasPrefix(last.Reason, errcode.ChecksumMismatch) {
		t.Errorf("the wrong checksum was told as %s %q", last.Type, last.Reason)
	}
}

// A checksum rejection whose removal fails is recorded like a content one: the retried
// complete removes the object and answers checksum_mismatch again (not 404, nor another code).
func TestChecksumRejectionIsFinishedLater(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	data := []byte("some bytes")
	size := int64(len(data))
	up, err := e.svc.Initiate(bg, &policy.InitiateRequest{Key: "uploads/alice/sum.txt", ContentType: "text/plain", Size: &size})
	if err != nil {
		t.Fatal(err)
	}
	etag, err := wire.PutPart(bg, http.DefaultClient, up.Parts[0], data, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := &wire.CompleteRequest{Parts: []wire.CompletedPart{{PartNumber: 1, ETag: etag}}, Checksum: &wire.Checksum{CRC64ECMA: "1"}}
	e.store.failDeletes.Store(1 << 20)
	_, err = e.svc.CompleteWith(bg, up.Token, up.UploadID, req)
	if code, _ := errCode(err); code != errcode.ChecksumMismatch || !strings.Contains(err.Error(), "could not be removed") {
		t.Fatalf("complete when the delete keeps failing: %v", err)
	}
	e.store.failDeletes.Store(0)
	_, err = e.svc.CompleteWith(bg, up.Token, up.UploadID, req)
	if code, field := errCode(err); code != errcode.ChecksumMismatch || field != "checksum" {
		t.Fatalf("retried complete: %v", err)
	}
	if e.exists(t, up.Key) {
		t.Fatal("the retried complete left the rejected object")
	}
}

// requireChecksum as a profile rule: the profile's uploads need one, the deployment's not.
func TestProfileRequiresChecksum(t *testing.T) {
	base := policy.Default()
	profiles, err := policy.ParseProfiles([]byte(`{"strict": {"requireChecksum": true}}`), base)
	if err != nil {
		t.Fatal(err)
	}
	e := newHolesEnv(t, nil, false, upload.WithProfiles(profiles))
	for _, tt := range []struct {
		profile string
		code    string
	}{{"", ""}, {"strict", errcode.MissingField}} {
		up, _, err := e.profiledUpload(t, bg, tt.profile, "image/png", png56)
		if code, _ := errCode(err); code != tt.code {
			t.Errorf("profile %q: %v; want %q", tt.profile, err, tt.code)
		}
		if up.ChecksumRequired != (tt.code != "") {
			t.Errorf("profile %q: the initiate answer says required %v", tt.profile, up.ChecksumRequired)
		}
	}
}

// Uppy sends no part checksums: its uploads (planned without URLs) are created on S3
// without the store's checksum, so their complete needs no listing — two storage requests,
// as every pinned upload's.
func TestUppyCompleteOnS3NeedsNoListing(t *testing.T) {
	svc, _, hc, _ := s3Service(t, nil)
	data := randomBytes(6<<20, 5)
	size := int64(len(data))
	in, err := svc.InitiatePlanned(bg, &policy.InitiateRequest{Filename: "f.bin", ContentType: "application/octet-stream", Size: &size, PartSize: 5 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if in.ChecksumAlgorithm != "" {
		t.Fatalf("an Uppy upload on S3 names checksum %q", in.ChecksumAlgorithm)
	}
	urls, err := svc.PresignParts(bg, in.Token, in.UploadID, []int{1, 2}, "")
	if err != nil {
		t.Fatal(err)
	}
	var parts []wire.CompletedPart
	for i, p := range urls.Parts {
		end := min(int64(i+1)<<20*5, size)
		etag, err := wire.PutPart(bg, http.DefaultClient, p, data[int64(i)<<20*5:end], nil)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, wire.CompletedPart{PartNumber: p.PartNumber, ETag: etag})
	}
	before := hc.n.Load()
	if _, err := svc.Complete(bg, in.Token, in.UploadID, parts); err != nil {
		t.Fatal(err)
	}
	if n := hc.n.Load() - before; n != 2 {
		t.Fatalf("Uppy's complete on S3: %d storage requests; want 2", n)
	}
}

// A complete repeated after one whose answer was lost answers the same object and keeps
// it: with the right checksum (S3 answers a repeated complete without one: it is read), and
// with a wrong one, refused (422) but not deleted — the first call held the object to its
// declaration; a token holder cannot remove an accepted object that way.
func TestRepeatedCompleteKeepsTheCheckedObject(t *testing.T) {
	type store struct {
		name string
		svc  *upload.Service
		algo *checksum.Algo
		stat func(key string) bool
	}
	cosRig := newRig(t, nil)
	s3svc, s3c, _, _ := s3Service(t, nil)
	for _, st := range []store{
		{"COS", cosRig.svc, checksum.ECMA, func(k string) bool { i, _ := cosRig.store.Stat(bg, k); return i.Exists }},
		{"S3", s3svc, checksum.NVME, func(k string) bool { i, _ := s3c.Stat(bg, k); return i.Exists }},
	} {
		data := randomBytes(6<<20, 11)
		size := int64(len(data))
		in, err := st.svc.Initiate(bg, &policy.InitiateRequest{Filename: "f.bin", ContentType: "application/octet-stream", Size: &size, PartSize: 5 << 20})
		if err != nil {
			t.Fatal(err)
		}
		parts, whole := sendParallel(t, in, data, st.algo)
		req := &wire.CompleteRequest{Parts: parts, Checksum: sumOf(st.algo, whole)}
		if _, err := st.svc.CompleteWith(bg, in.Token, in.UploadID, req); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if _, err := st.svc.CompleteWith(bg, in.Token, in.UploadID, req); err != nil || !st.stat(in.Key) {
			t.Fatalf("%s: the repeated complete with the right checksum: %v (object kept %v)", st.name, err, st.stat(in.Key))
		}
		wrong := &wire.CompleteRequest{Parts: parts, Checksum: sumOf(st.algo, whole+1)}
		_, err = st.svc.CompleteWith(bg, in.Token, in.UploadID, wrong)
		if errcode.As(err).Code != errcode.ChecksumMismatch || !st.stat(in.Key) {
			t.Fatalf("%s: a repeated complete with a wrong checksum: %v (object kept %v)", st.name, err, st.stat(in.Key))
		}
	}
}

// Where the rules require a checksum, Uppy's uploads — whose complete cannot carry one —
// are refused at create, on every store (and forms: TestFormsFollowTheRules).
func TestRequiredChecksumRefusesUppyAtCreate(t *testing.T) {
	cosRig := newRig(t, func(p *policy.Policy) { p.RequireChecksum = true })
	s3svc, _, _, _ := s3Service(t, func(p *policy.Policy) { p.RequireChecksum = true })
	for name, svc := range map[string]*upload.Service{"COS": cosRig.svc, "S3": s3svc} {
		size := int64(6 << 20)
		_, err := svc.InitiatePlanned(bg, &policy.InitiateRequest{Filename: "f.bin", ContentType: "application/octet-stream", Size: &size})
		if e := errcode.As(err); e.Code != errcode.NotAvailable || e.Field != "checksum" {
			t.Errorf("%s: Uppy's create under a required checksum: %v", name, err)
		}
	}
}
