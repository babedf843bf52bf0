package upload_test

// Tests of the README's "Security model" that live in the service: each fails when the
// line keeping its guarantee is removed or weakened (see /tmp/security-table.md).

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/directup/directup/shared/cos"
	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/localcos"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

// rig is the service over the real local store, with the COS client it drives.
type rig struct {
	svc    *upload.Service
	store  *cos.Client
	local  *localcos.Server
	events *recordedEvents
}

type recordedEvents struct {
	mu  sync.Mutex
	all []events.Event
}

func (r *recordedEvents) Publish(_ context.Context, ev *events.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, *ev)
	return nil
}

func (r *recordedEvents) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.all {
		out = append(out, ev.Type)
	}
	return out
}

func newRig(t *testing.T, mutate func(*policy.Policy), opts ...upload.Option) *rig {
	t.Helper()
	b := functest.NewBackend(t)
	r := &rig{store: b.Client(t), local: b.Store, events: &recordedEvents{}}
	p := policy.Default()
	if mutate != nil {
		mutate(&p)
	}
	svc, err := upload.NewService(r.store, p, []byte("0123456789abcdef0123456789abcdef"), append(opts, upload.WithEvents(r.events))...)
	if err != nil {
		t.Fatal(err)
	}
	r.svc = svc
	return r
}

var bg = context.Background()

// send PUTs data through a presigned part and returns the ETag the store answered.
func send(t *testing.T, part wire.PresignedPart, data []byte) (string, int) {
	t.Helper()
	req, _ := http.NewRequest(part.Method, part.URL, bytes.NewReader(data))
	for k, v := range part.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("ETag"), resp.StatusCode
}

// sideload stores data as part n of an upload through a URL the store signs for exactly
// len(data) bytes, outside the upload's plan: how "more bytes than declared were somehow
// stored" (another signer, the store's own keys, temporary keys) looks to the service.
func (r *rig) sideload(t *testing.T, key, uploadID string, n int, data []byte) string {
	t.Helper()
	p, err := r.store.Presign(bg, &storage.PresignRequest{Key: key, UploadID: uploadID, TTL: time.Hour,
		Parts: []wire.PartSpec{{Number: n, Size: int64(len(data))}}})
	if err != nil {
		t.Fatal(err)
	}
	etag, status := send(t, p.Parts[0], data)
	if status != 200 {
		t.Fatalf("sideloading part %d: %d", n, status)
	}
	return etag
}

func (r *rig) initiate(t *testing.T, size, partSize int64) *upload.Initiated {
	t.Helper()
	req := &policy.InitiateRequest{Filename: "f.bin", ContentType: "application/octet-stream", Size: &size}
	if partSize > 0 {
		req.PartSize = partSize
	}
	in, err := r.svc.Initiate(bg, req)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func wantError(t *testing.T, what string, err error, status int, code, field string) {
	t.Helper()
	e := errcode.As(err)
	if err == nil || e.Code != code || (field != "" && e.Field != field) {
		t.Fatalf("%s: %v; want %d %s (field %q)", what, err, status, code, field)
	}
}

// gone reports that the upload was aborted and no object was made from it.
func (r *rig) gone(t *testing.T, in *upload.Initiated) {
	t.Helper()
	if _, err := r.store.ListParts(bg, in.Key, in.UploadID); errcode.As(err).Code != errcode.UploadNotFound {
		t.Errorf("the upload is still there (ListParts: %v); it must be aborted", err)
	}
	if info, err := r.store.Stat(bg, in.Key); err != nil || info.Exists {
		t.Errorf("an object was made (%v, %+v)", err, info)
	}
}

// "Nobody stores more than the declared size": exactly the declared size completes; a part
// stored outside the plan (with other credentials) never becomes part of the object — the
// complete names only the plan's parts, and the store assembles only those.
func TestGuaranteeCompleteAtTheDeclaredSize(t *testing.T) {
	r := newRig(t, nil)
	exact := r.initiate(t, 6, 0)
	etag, _ := send(t, exact.Parts[0], []byte("exact\n"))
	done, err := r.svc.Complete(bg, exact.Token, exact.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: etag}})
	if err != nil || done.Size != 6 {
		t.Fatalf("exactly the declared 6 bytes: %v %+v", err, done)
	}

	over := r.initiate(t, 6, 0)
	etag, _ = send(t, over.Parts[0], []byte("exact\n"))
	r.sideload(t, over.Key, over.UploadID, 2, []byte("+")) // 7 bytes stored, 6 declared
	done, err = r.svc.Complete(bg, over.Token, over.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: etag}})
	if err != nil || done.Size != 6 {
		t.Fatalf("a part outside the plan: %v %+v", err, done)
	}
	if info, _ := r.store.Stat(bg, over.Key); info.Size != 6 {
		t.Errorf("the object holds %d bytes; the declared 6 only", info.Size)
	}
}

// Open uploads (API_COMPANION_OPEN_UPLOADS) pin no sizes: the policy's limits hold only at
// complete — exactly UPLOAD_MAX_SIZE completes, one byte more is 413 and aborted; exactly
// UPLOAD_MIN_SIZE completes, a byte under is 400 and makes no object.
func TestGuaranteeOpenUploadAtTheLimit(t *testing.T) {
	for _, tt := range []struct {
		name        string
		rules       func(*policy.Policy)
		exact, miss int
		status      int
		code        string
		aborted     bool
	}{
		{"UPLOAD_MAX_SIZE", func(p *policy.Policy) { p.MaxSize = 10 }, 10, 11, http.StatusRequestEntityTooLarge, errcode.SizeTooLarge, true},
		{"UPLOAD_MIN_SIZE", func(p *policy.Policy) { p.MinSize = 10 }, 10, 9, http.StatusBadRequest, errcode.InvalidField, false},
	} {
		r := newRig(t, tt.rules)
		for _, n := range []int{tt.exact, tt.miss} {
			in, err := r.svc.InitiateOpen(bg, "f.bin", "application/octet-stream", "")
			if err != nil {
				t.Fatal(err)
			}
			urls, err := r.svc.PresignParts(bg, in.Token, in.UploadID, []int{1}, "")
			if err != nil {
				t.Fatal(err)
			}
			etag, status := send(t, urls.Parts[0], bytes.Repeat([]byte("x"), n))
			if status != 200 {
				t.Fatalf("%s: an open part of %d bytes: %d", tt.name, n, status)
			}
			done, err := r.svc.Complete(bg, in.Token, in.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: etag}})
			if n == tt.exact {
				if err != nil || done.Size != int64(n) {
					t.Fatalf("%s: exactly at it: %v %+v", tt.name, err, done)
				}
				continue
			}
			wantError(t, tt.name+": a byte past it", err, tt.status, tt.code, "parts")
			if tt.aborted {
				r.gone(t, in)
			} else if info, _ := r.store.Stat(bg, in.Key); info.Exists {
				t.Errorf("%s: an object past it was made", tt.name)
			}
		}
	}
}

// "The object is exactly the declared size": a part stored with another size than its
// plan's (with other credentials: its URL pins the size) makes an object of another size,
// which the complete's read sees and removes (409 invalid_part, told as rejected). Parts of
// other sizes that still add up to the declared size make an object of that size.
func TestGuaranteeCompleteChecksEachPartSize(t *testing.T) {
	r := newRig(t, nil)
	short := r.initiate(t, 6, 0)
	etag := r.sideload(t, short.Key, short.UploadID, 1, []byte("short"))
	_, err := r.svc.Complete(bg, short.Token, short.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: etag}})
	wantError(t, "a part one byte short of its plan", err, http.StatusConflict, errcode.InvalidPart, "parts")
	if got := r.events.types(); len(got) != 1 || got[0] != events.Rejected {
		t.Errorf("events %v; want the rejection", got)
	}

	const mib = 1 << 20
	shifted := r.initiate(t, mib+6, mib) // parts of 1 MiB and 6 bytes
	e1 := r.sideload(t, shifted.Key, shifted.UploadID, 1, bytes.Repeat([]byte("a"), mib+1))
	e2 := r.sideload(t, shifted.Key, shifted.UploadID, 2, []byte("bbbbb"))
	done, err := r.svc.Complete(bg, shifted.Token, shifted.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: e1}, {PartNumber: 2, ETag: e2}})
	if err != nil || done.Size != mib+6 {
		t.Fatalf("parts adding up to the declared size: %v %+v", err, done)
	}
	if info, _ := r.store.Stat(bg, short.Key); info.Exists {
		t.Errorf("%s: an object of another size than declared was left", short.Key)
	}
	if info, _ := r.store.Stat(bg, shifted.Key); info.Size != mib+6 {
		t.Errorf("%s holds %d bytes", shifted.Key, info.Size)
	}
}

// signedUntil is when a COS part URL's signature ends (q-sign-time's second half).
func signedUntil(t *testing.T, u string) time.Time {
	t.Helper()
	q, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	_, end, _ := strings.Cut(q.Query().Get("q-sign-time"), ";")
	sec, err := strconv.ParseInt(end, 10, 64)
	if err != nil {
		t.Fatalf("no q-sign-time in %s", u)
	}
	return time.Unix(sec, 0)
}

// "Part URLs ... expire with UPLOAD_URL_TTL, the token, or the credentials, whichever
// comes first": URLs asked for 50 minutes into a one-hour token end with the token, not an
// hour later, and the store refuses them once the token has ended.
func TestGuaranteePartURLsEndWithTheToken(t *testing.T) {
	var mu sync.Mutex
	offset := -50 * time.Minute // the upload started 50 minutes ago
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return time.Now().Add(offset)
	}
	r := newRig(t, func(p *policy.Policy) { p.URLTTL, p.TokenTTL = time.Hour, time.Hour }, upload.WithClock(clock))
	in := r.initiate(t, 6, 0)
	tokenEnds := in.TokenExpiresAt
	mu.Lock()
	offset = 0
	mu.Unlock()
	for name, presign := range map[string]func(context.Context, string, string, []int, string) (*upload.PartURLs, error){
		"full": r.svc.PresignParts, "compact": r.svc.PresignAll,
	} {
		urls, err := presign(bg, in.Token, in.UploadID, []int{1}, "")
		if err != nil {
			t.Fatal(err)
		}
		if urls.ExpiresAt.After(tokenEnds) {
			t.Errorf("%s: URLs expire at %v, after the token (%v)", name, urls.ExpiresAt, tokenEnds)
		}
		if urls.ExpiresAt.Before(tokenEnds.Add(-time.Minute)) {
			t.Errorf("%s: URLs expire at %v, long before the token (%v)", name, urls.ExpiresAt, tokenEnds)
		}
		var u string
		if urls.CompactParts != nil {
			parts, err := urls.CompactParts.Expand()
			if err != nil {
				t.Fatal(err)
			}
			u = parts[0].URL
		} else {
			u = urls.Parts[0].URL
		}
		if end := signedUntil(t, u); end.After(tokenEnds) {
			t.Errorf("%s: the URL is signed until %v, after the token (%v)", name, end, tokenEnds)
		}
	}
	urls, err := r.svc.PresignParts(bg, in.Token, in.UploadID, []int{1}, "")
	if err != nil {
		t.Fatal(err)
	}
	r.local.SetClock(func() time.Time { return tokenEnds.Add(5 * time.Second) })
	if _, status := send(t, urls.Parts[0], []byte("late!\n")); status != http.StatusForbidden {
		t.Errorf("a part sent after the token ended: %d; want the store's 403", status)
	}
	r.local.SetClock(func() time.Time { return tokenEnds.Add(-30 * time.Second) })
	if _, status := send(t, urls.Parts[0], []byte("intime")); status != 200 {
		t.Errorf("a part sent before the token ended: %d", status)
	}
}

// "Complete requires every part of the plan, with its ETag": a part named with an ETag
// other than the stored part's is refused by the store's complete, and a listing then
// names it (two requests; no object is made).
func TestGuaranteeCompleteChecksETags(t *testing.T) {
	r := newRig(t, nil)
	in := r.initiate(t, 6, 0)
	if _, status := send(t, in.Parts[0], []byte("parts\n")); status != 200 {
		t.Fatal(status)
	}
	before := r.local.Requests()
	_, err := r.svc.Complete(bg, in.Token, in.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: `"0123456789abcdef0123456789abcdef"`}})
	wantError(t, "another ETag", err, http.StatusConflict, errcode.InvalidPart, "parts[0].etag")
	if n := r.local.Requests() - before; n != 2 {
		t.Errorf("%d requests reached the store; want the refused complete and the listing", n)
	}
	if info, _ := r.store.Stat(bg, in.Key); info.Exists {
		t.Error("an object was made")
	}
}

// "Part numbers outside the plan are refused" at complete too: a part beyond the plan is
// named as such (400 naming it), not taken for a missing one.
func TestGuaranteeCompleteRefusesPartsOutsideThePlan(t *testing.T) {
	r := newRig(t, nil)
	in := r.initiate(t, 6, 0)
	etag, _ := send(t, in.Parts[0], []byte("parts\n"))
	for _, n := range []int{0, 2, 10001} {
		_, err := r.svc.Complete(bg, in.Token, in.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: etag}, {PartNumber: n, ETag: etag}})
		field := "parts[1].partNumber"
		if n == 0 {
			field = "parts[0].partNumber" // sorted first
		}
		wantError(t, "part "+strconv.Itoa(n)+" of a 1-part plan", err, http.StatusBadRequest, errcode.InvalidField, field)
	}
}

// "Full-form part URLs per answer and per request are capped (UPLOAD_PART_BATCH)": exactly
// the batch is answered, one more is refused.
func TestGuaranteePartBatchCap(t *testing.T) {
	r := newRig(t, func(p *policy.Policy) { p.PartBatch = 2 })
	const mib = 1 << 20
	in := r.initiate(t, 3*mib, mib)
	if len(in.Parts) != 2 || in.PartCount != 3 {
		t.Fatalf("initiate answered %d of %d part URLs; want the batch of 2", len(in.Parts), in.PartCount)
	}
	if urls, err := r.svc.PresignParts(bg, in.Token, in.UploadID, []int{2, 3}, ""); err != nil || len(urls.Parts) != 2 {
		t.Fatalf("a batch of 2: %v", err)
	}
	_, err := r.svc.PresignParts(bg, in.Token, in.UploadID, []int{1, 2, 3}, "")
	wantError(t, "3 URLs with a batch of 2", err, http.StatusBadRequest, errcode.InvalidField, "partNumbers")
}

// "Stateless upload tokens ... binding bucket, key, UploadId ...": a token another
// deployment signed with the same secret, for its own bucket, opens nothing here, even for
// an upload id this bucket has.
func TestGuaranteeTokensAreBoundToTheBucket(t *testing.T) {
	here := newRig(t, nil)
	store, err := localcos.New(t.TempDir(), "other-1250000000", functest.StoreCred)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(store)
	defer srv.Close()
	otherClient, err := cos.New(cos.Config{Bucket: "other-1250000000", Endpoint: srv.URL}, credentials.Static{
		AccessKeyID: functest.StoreCred.SecretID, SecretAccessKey: functest.StoreCred.SecretKey, SessionToken: functest.StoreCred.SessionToken}, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := upload.NewService(otherClient, policy.Default(), []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	size := int64(6)
	theirs, err := other.Initiate(bg, &policy.InitiateRequest{Filename: "f.bin", ContentType: "application/octet-stream", Size: &size})
	if err != nil {
		t.Fatal(err)
	}
	before := here.local.Requests()
	_, err = here.svc.PresignParts(bg, theirs.Token, theirs.UploadID, []int{1}, "")
	wantError(t, "another bucket's token", err, http.StatusForbidden, errcode.TokenMismatch, "")
	_, err = here.svc.ListParts(bg, theirs.Token, theirs.UploadID)
	wantError(t, "another bucket's token (list)", err, http.StatusForbidden, errcode.TokenMismatch, "")
	if here.local.Requests() != before {
		t.Error("a request reached the store")
	}
}

// A pinned upload's complete costs two storage round trips — the complete and one read,
// whether it verifies content or not, events told — and an open upload's three (its parts
// are listed first: nothing pinned their sizes).
func TestGuaranteeCompleteInTwoRoundTrips(t *testing.T) {
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 100)...)
	for _, tt := range []struct {
		name   string
		verify bool
		open   bool
		want   int64
	}{{"verifying content", true, false, 2}, {"not verifying", false, false, 2}, {"open upload", true, true, 3}} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, func(p *policy.Policy) { p.VerifyContent = tt.verify })
			var in *upload.Initiated
			var part wire.PresignedPart
			if tt.open {
				var err error
				if in, err = r.svc.InitiateOpen(bg, "a.png", "image/png", ""); err != nil {
					t.Fatal(err)
				}
				urls, err := r.svc.PresignParts(bg, in.Token, in.UploadID, []int{1}, "")
				if err != nil {
					t.Fatal(err)
				}
				part = urls.Parts[0]
			} else {
				size := int64(len(png))
				var err error
				if in, err = r.svc.Initiate(bg, &policy.InitiateRequest{Filename: "a.png", ContentType: "image/png", Size: &size}); err != nil {
					t.Fatal(err)
				}
				part = in.Parts[0]
			}
			etag, _ := send(t, part, png)
			before := r.local.Requests()
			done, err := r.svc.Complete(bg, in.Token, in.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: etag}})
			if err != nil || done.Size != int64(len(png)) {
				t.Fatalf("%v %+v", err, done)
			}
			if n := r.local.Requests() - before; n != tt.want {
				t.Errorf("%d storage requests; want %d", n, tt.want)
			}
			if got := r.events.types(); len(got) != 1 || got[0] != events.Completed {
				t.Errorf("events %v", got)
			}
		})
	}
}

// An empty file is one empty part: it completes, its content verified (nothing to
// contradict) and its size checked, though a ranged read of nothing is no range at all.
func TestEmptyUploadCompletes(t *testing.T) {
	for _, verify := range []bool{true, false} {
		r := newRig(t, func(p *policy.Policy) { p.VerifyContent = verify })
		in := r.initiate(t, 0, 0)
		etag, status := send(t, in.Parts[0], nil)
		if status != 200 {
			t.Fatalf("empty part: %d", status)
		}
		done, err := r.svc.Complete(bg, in.Token, in.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: etag}})
		if err != nil || done.Size != 0 {
			t.Fatalf("verify %v: %v %+v", verify, err, done)
		}
		if err := r.svc.ObjectCreated(bg, in.Key); err != nil {
			t.Fatalf("the storage check of an empty object: %v", err)
		}
		if info, _ := r.store.Stat(bg, in.Key); !info.Exists {
			t.Errorf("verify %v: the empty object was removed", verify)
		}
	}
}

// A complete whose caller never saw the answer — storage assembled the object, then the
// answer was lost or the client went away before the check — is carried out again by a
// repeated complete: the object of this upload is answered and checked, never left as it
// is; what contradicts its declaration is removed then.
func TestRepeatedCompleteChecksTheObject(t *testing.T) {
	r := newRig(t, nil)
	html := []byte("<html><script>alert(1)</script></html>")
	for _, tt := range []struct {
		name string
		body []byte
		ok   bool
	}{{"a real PNG", append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 30)...), true}, {"HTML declared as PNG", html, false}} {
		size := int64(len(tt.body))
		in, err := r.svc.Initiate(bg, &policy.InitiateRequest{Filename: "a.png", ContentType: "image/png", Size: &size})
		if err != nil {
			t.Fatal(err)
		}
		etag, _ := send(t, in.Parts[0], tt.body)
		parts := []wire.CompletedPart{{PartNumber: 1, ETag: etag}}
		// The first complete reached storage; its caller saw nothing of it.
		if _, err := r.store.Complete(bg, in.Key, in.UploadID, parts, storage.CompleteOptions{}); err != nil {
			t.Fatal(err)
		}
		done, err := r.svc.Complete(bg, in.Token, in.UploadID, parts)
		info, _ := r.store.Stat(bg, in.Key)
		switch {
		case tt.ok && (err != nil || done.Size != size || done.ETag != info.ETag):
			t.Errorf("%s: %v %+v", tt.name, err, done)
		case !tt.ok && (errcode.As(err).Code != errcode.ContentMismatch || info.Exists):
			t.Errorf("%s: %v, object kept %v", tt.name, err, info.Exists)
		}
	}
	// Another upload's object at the key is not this upload's: still upload_not_found.
	size := int64(3)
	in, _ := r.svc.Initiate(bg, &policy.InitiateRequest{Filename: "b.txt", ContentType: "text/plain", Size: &size})
	r.svc.Abort(bg, in.Token, in.UploadID)
	if _, err := r.svc.Complete(bg, in.Token, in.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: `"e"`}}); errcode.As(err).Code != errcode.UploadNotFound {
		t.Errorf("a gone upload: %v", err)
	}
}

// An SSE-C object cannot be read back without its key, so an SSE-C upload's parts are
// listed before the complete: a part stored with another size (other credentials) is
// refused before any object is made.
func TestGuaranteeSSECPartsAreListed(t *testing.T) {
	r := newRig(t, nil)
	raw := bytes.Repeat([]byte{7}, 32)
	sum := md5.Sum(raw)
	customerKey := base64.StdEncoding.EncodeToString(raw)
	size := int64(6)
	in, err := r.svc.Initiate(bg, &policy.InitiateRequest{Filename: "s.txt", ContentType: "text/plain", Size: &size,
		Encryption: &policy.EncryptionRequest{Type: "SSE-C", CustomerKey: customerKey}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.store.Presign(bg, &storage.PresignRequest{Key: in.Key, UploadID: in.UploadID, Parts: []wire.PartSpec{{Number: 1, Size: 5}},
		TTL: time.Hour, CustomerKeyMD5: base64.StdEncoding.EncodeToString(sum[:]), CustomerKey: customerKey})
	if err != nil {
		t.Fatal(err)
	}
	etag, err := wire.PutPart(bg, http.DefaultClient, p.Parts[0], []byte("short"),
		http.Header{http.CanonicalHeaderKey(p.Parts[0].CustomerKeyHeader): {customerKey}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.svc.Complete(bg, in.Token, in.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: etag}})
	wantError(t, "an SSE-C part of another size", err, http.StatusConflict, errcode.InvalidPart, "parts[0]")
	if info, _ := r.store.Stat(bg, in.Key); info.Exists {
		t.Error("an object was made")
	}
}

// cancelAfterComplete is a store whose caller goes away just after storage assembled the
// object (the client disconnected, the deadline passed).
type cancelAfterComplete struct {
	*cos.Client
	cancel context.CancelFunc
}

func (c *cancelAfterComplete) Complete(ctx context.Context, key, uploadID string, parts []wire.CompletedPart, opts storage.CompleteOptions) (*wire.Completed, error) {
	done, err := c.Client.Complete(ctx, key, uploadID, parts, opts)
	c.cancel()
	return done, err
}

// Once storage has assembled the object it is checked whatever becomes of the caller.
func TestObjectIsCheckedAfterTheCallerLeft(t *testing.T) {
	b := functest.NewBackend(t)
	ctx, cancel := context.WithCancel(bg)
	store := &cancelAfterComplete{Client: b.Client(t), cancel: cancel}
	svc, err := upload.NewService(store, policy.Default(), []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	html := []byte("<html><script>alert(1)</script></html>")
	size := int64(len(html))
	in, err := svc.Initiate(ctx, &policy.InitiateRequest{Filename: "a.png", ContentType: "image/png", Size: &size})
	if err != nil {
		t.Fatal(err)
	}
	etag, _ := send(t, in.Parts[0], html)
	_, err = svc.Complete(ctx, in.Token, in.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: etag}})
	if errcode.As(err).Code != errcode.ContentMismatch {
		t.Fatalf("complete: %v", err)
	}
	if info, _ := store.Stat(bg, in.Key); info.Exists {
		t.Error("the contradicting object stayed because its caller left")
	}
}
