// Package storagetest is the conformance suite every storage.Store passes, in the shape of
// go-cloud's blob/drivertest: a store package calls Run from its own test with a function
// that builds the store against a real server (the COS store against the local store, the
// S3 store against versitygw, the next store against its own), and the suite drives the
// whole lifecycle with real bytes, its refusals and its faults through it.
package storagetest

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/directup/directup/shared/checksum"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/wire"
)

// Options are what the suite asks of a store it builds.
type Options struct {
	// HTTP is the client the store must send every request through (the suite injects
	// faults into it).
	HTTP *http.Client
	// CredentialsExpire, when set, is when the store's signing credentials expire.
	CredentialsExpire time.Time
	// Now, when set, is the store's clock: the suite stops it to compare what two calls
	// sign.
	Now func() time.Time
}

// Fixture is a store built for one test, and how to read what it stored.
type Fixture struct {
	Store storage.Store
	// Read returns an object's bytes as the server holds them.
	Read func(key string) ([]byte, error)
}

// New builds a fresh store (a fresh bucket or prefix) for one test.
type New func(t *testing.T, o Options) Fixture

// Run runs the suite.
func Run(t *testing.T, newStore New) {
	t.Run("Capabilities", func(t *testing.T) { testCapabilities(t, newStore) })
	t.Run("Lifecycle", func(t *testing.T) { testLifecycle(t, newStore) })
	t.Run("PinnedSizes", func(t *testing.T) { testPinnedSizes(t, newStore) })
	t.Run("KeysOfAnyText", func(t *testing.T) { testKeysOfAnyText(t, newStore) })
	t.Run("ListPartsPaging", func(t *testing.T) { testListPartsPaging(t, newStore) })
	t.Run("AbortThenGone", func(t *testing.T) { testAbort(t, newStore) })
	t.Run("ForbidOverwriteRace", func(t *testing.T) { testForbidOverwriteRace(t, newStore) })
	t.Run("SSEC", func(t *testing.T) { testSSEC(t, newStore) })
	t.Run("ExpiryClamp", func(t *testing.T) { testExpiryClamp(t, newStore) })
	t.Run("CompactForm", func(t *testing.T) { testCompactForm(t, newStore) })
	t.Run("Faults", func(t *testing.T) { testFaults(t, newStore) })
	t.Run("Forms", func(t *testing.T) { testForms(t, newStore) })
	t.Run("NotEmbedded", func(t *testing.T) { notEmbedded(t, newStore(t, Options{}).Store) })
}

var ctx = context.Background()

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func key(t *testing.T) string {
	return "uploads/storetest/" + strings.ReplaceAll(t.Name(), "/", "-") + "/" + fmt.Sprintf("%x", random(4)) + "/f.bin"
}

// put uploads each part's bytes through its presigned URL and returns what to complete.
func put(t *testing.T, parts []wire.PresignedPart, data []byte, partSize int64, extra http.Header) []wire.CompletedPart {
	t.Helper()
	var done []wire.CompletedPart
	for _, p := range parts {
		off := int64(p.PartNumber-1) * partSize
		etag, err := wire.PutPart(ctx, http.DefaultClient, p, data[off:off+p.Size], extra)
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, wire.CompletedPart{PartNumber: p.PartNumber, ETag: etag})
	}
	return done
}

func specs(size, partSize int64) []wire.PartSpec {
	var out []wire.PartSpec
	for n, off := 1, int64(0); off < size; n, off = n+1, off+partSize {
		out = append(out, wire.PartSpec{Number: n, Size: min(partSize, size-off)})
	}
	return out
}

func code(err error) string {
	if err == nil {
		return ""
	}
	return errcode.As(err).Code
}

// What a store declares it must honour: its limits are sane, and the real server takes
// every storage class and ACL it lists.
func testCapabilities(t *testing.T, newStore New) {
	f := newStore(t, Options{})
	caps := f.Store.Capabilities()
	if caps.MinPartSize <= 0 || caps.MaxPartSize < caps.MinPartSize || caps.MaxParts <= 0 || caps.MaxKeyLength <= 0 || len(caps.StorageClasses) == 0 {
		t.Fatalf("Capabilities = %+v", caps)
	}
	try := func(what string, obj *storage.Object) {
		id, err := f.Store.Initiate(ctx, obj)
		if err != nil {
			t.Errorf("%s: %v", what, err)
			return
		}
		f.Store.Abort(ctx, obj.Key, id)
	}
	for _, c := range caps.StorageClasses {
		try("storage class "+c, &storage.Object{Key: key(t), ContentType: "text/plain", StorageClass: c})
	}
	for _, a := range caps.ACLs {
		try("acl "+a, &storage.Object{Key: key(t), ContentType: "text/plain", ACL: a})
	}
	long := "uploads/" + strings.Repeat("k", caps.MaxKeyLength-len("uploads/"))
	try("a key of the longest length", &storage.Object{Key: long, ContentType: "text/plain"})
}

func testLifecycle(t *testing.T, newStore New) {
	f := newStore(t, Options{})
	minPart := f.Store.Capabilities().MinPartSize
	k := key(t)
	data := random(int(2*minPart + 12345))
	id, err := f.Store.Initiate(ctx, &storage.Object{Key: k, ContentType: "application/octet-stream", Metadata: map[string]string{"project": "42"}})
	if err != nil || id == "" {
		t.Fatalf("Initiate = %q, %v", id, err)
	}
	if info, err := objectsOf(t, f.Store).Stat(ctx, k); err != nil || info.Exists {
		t.Fatalf("Stat before complete = %+v, %v", info, err)
	}
	p, err := f.Store.Presign(ctx, &storage.PresignRequest{Key: k, UploadID: id, Parts: specs(int64(len(data)), minPart), TTL: time.Hour})
	if err != nil || len(p.Parts) != 3 || p.Expires.Before(time.Now().Add(59*time.Minute)) {
		t.Fatalf("Presign = %+v, %v", p, err)
	}
	done := put(t, p.Parts, data, minPart, nil)
	stored, err := f.Store.ListParts(ctx, k, id)
	if err != nil || len(stored) != 3 || stored[0].Size != minPart || stored[2].Size != 12345 ||
		strings.Trim(stored[1].ETag, `"`) != strings.Trim(done[1].ETag, `"`) {
		t.Fatalf("ListParts = %+v, %v", stored, err)
	}
	c, err := f.Store.Complete(ctx, k, id, done, storage.CompleteOptions{})
	if err != nil || c.Key != k || c.ETag == "" || c.Bucket != f.Store.Bucket() {
		t.Fatalf("Complete = %+v, %v", c, err)
	}
	if got, err := f.Read(k); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("stored %d bytes (%v), want the %d uploaded", len(got), err, len(data))
	}
	info, err := objectsOf(t, f.Store).Stat(ctx, k)
	if err != nil || !info.Exists || info.LastModified.IsZero() {
		t.Fatalf("Stat after complete = %+v, %v", info, err)
	}
	checkChecksum(t, f.Store.Capabilities().Checksum, data, c, info)
	if head, info, err := objectsOf(t, f.Store).ReadHead(ctx, k, 100); err != nil || !bytes.Equal(head, data[:100]) ||
		info.Size != int64(len(data)) || !info.Exists || info.ETag != c.ETag || info.LastModified.IsZero() {
		t.Fatalf("ReadHead(100) = %d bytes, %+v, %v (want the object's size %d and ETag %s)", len(head), info, err, len(data), c.ETag)
	}
	if err := objectsOf(t, f.Store).Delete(ctx, k); err != nil {
		t.Fatal(err)
	}
	if info, err := objectsOf(t, f.Store).Stat(ctx, k); err != nil || info.Exists {
		t.Fatalf("Stat after Delete = %+v, %v", info, err)
	}
	if err := objectsOf(t, f.Store).Delete(ctx, k); err != nil {
		t.Fatalf("deleting nothing: %v", err)
	}
	if _, err := f.Store.ListParts(ctx, k, id); code(err) != errcode.UploadNotFound {
		t.Fatalf("ListParts after complete: %v", err)
	}
}

// Keys may hold spaces, non-ASCII letters and characters URLs escape: every call, presigned
// part URLs included, must address them (an S3 signer that escaped the path twice failed here).
func testKeysOfAnyText(t *testing.T, newStore New) {
	f := newStore(t, Options{})
	for _, k := range []string{"uploads/storetest/a b+c%20d (1).bin", "uploads/storetest/报告 ä~!*'();:@&=$,.bin"} {
		id, err := f.Store.Initiate(ctx, &storage.Object{Key: k, ContentType: "text/plain"})
		if err != nil {
			t.Fatalf("%q: %v", k, err)
		}
		p, err := f.Store.Presign(ctx, &storage.PresignRequest{Key: k, UploadID: id, Parts: []wire.PartSpec{{Number: 1, Size: 5}}, TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		done := put(t, p.Parts, []byte("hello"), 5, nil)
		if _, err := f.Store.Complete(ctx, k, id, done, storage.CompleteOptions{}); err != nil {
			t.Fatalf("%q: %v", k, err)
		}
		if got, err := f.Read(k); err != nil || string(got) != "hello" {
			t.Fatalf("%q: read %q, %v", k, got, err)
		}
		if info, err := objectsOf(t, f.Store).Stat(ctx, k); err != nil || !info.Exists {
			t.Fatalf("%q: Stat %+v, %v", k, info, err)
		}
	}
}

func testPinnedSizes(t *testing.T, newStore New) {
	f := newStore(t, Options{})
	k := key(t)
	id, err := f.Store.Initiate(ctx, &storage.Object{Key: k, ContentType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.Store.Presign(ctx, &storage.PresignRequest{Key: k, UploadID: id, Parts: []wire.PartSpec{{Number: 1, Size: 10}}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{9, 11, 1 << 20} {
		if _, err := wire.PutPart(ctx, http.DefaultClient, p.Parts[0], make([]byte, n), nil); err == nil {
			t.Errorf("%d bytes stored through a URL pinned to 10", n)
		}
	}
	if _, err := wire.PutPart(ctx, http.DefaultClient, p.Parts[0], make([]byte, 10), nil); err != nil {
		t.Errorf("the pinned size: %v", err)
	}
	f.Store.Abort(ctx, k, id)
}

func testListPartsPaging(t *testing.T, newStore New) {
	f := newStore(t, Options{})
	k := key(t)
	id, err := f.Store.Initiate(ctx, &storage.Object{Key: k, ContentType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Store.Abort(ctx, k, id)
	const n = 1003 // more than one page of 1,000
	parts := make([]wire.PartSpec, n)
	for i := range parts {
		parts[i] = wire.PartSpec{Number: i + 1, Size: 1}
	}
	p, err := f.Store.Presign(ctx, &storage.PresignRequest{Key: k, UploadID: id, Parts: parts, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var failed atomic.Int32
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				if _, err := wire.PutPart(ctx, http.DefaultClient, p.Parts[i], []byte{byte(i)}, nil); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d part PUTs failed", failed.Load())
	}
	stored, err := f.Store.ListParts(ctx, k, id)
	if err != nil || len(stored) != n || stored[0].PartNumber != 1 || stored[n-1].PartNumber != n {
		t.Fatalf("ListParts: %d parts, %v", len(stored), err)
	}
}

func testAbort(t *testing.T, newStore New) {
	f := newStore(t, Options{})
	k := key(t)
	id, err := f.Store.Initiate(ctx, &storage.Object{Key: k, ContentType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := f.Store.Presign(ctx, &storage.PresignRequest{Key: k, UploadID: id, Parts: []wire.PartSpec{{Number: 1, Size: 5}}, TTL: time.Hour})
	done := put(t, p.Parts, []byte("hello"), 5, nil)
	if err := f.Store.Abort(ctx, k, id); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Store.ListParts(ctx, k, id); code(err) != errcode.UploadNotFound {
		t.Fatalf("ListParts after abort: %v", err)
	}
	if err := f.Store.Abort(ctx, k, id); code(err) != errcode.UploadNotFound {
		t.Fatalf("a second abort: %v", err)
	}
	// S3 and COS answer NoSuchUpload; some S3-compatible servers look at the parts first.
	if _, err := f.Store.Complete(ctx, k, id, done, storage.CompleteOptions{}); code(err) != errcode.UploadNotFound && code(err) != errcode.InvalidPart {
		t.Fatalf("complete after abort: %v", err)
	}
	if info, err := objectsOf(t, f.Store).Stat(ctx, k); err != nil || info.Exists {
		t.Fatalf("an aborted upload left an object: %+v, %v", info, err)
	}
}

// Four uploads race for one key with forbid-overwrite: exactly one object, the others
// object_exists.
func testForbidOverwriteRace(t *testing.T, newStore New) {
	f := newStore(t, Options{})
	k := key(t)
	type racer struct {
		id   string
		done []wire.CompletedPart
		data []byte
	}
	racers := make([]racer, 4)
	for i := range racers {
		obj := &storage.Object{Key: k, ContentType: "text/plain", ForbidOverwrite: true}
		id, err := f.Store.Initiate(ctx, obj)
		if err != nil {
			t.Fatal(err)
		}
		data := []byte(fmt.Sprintf("racer %d", i))
		p, err := f.Store.Presign(ctx, &storage.PresignRequest{Key: k, UploadID: id, Parts: []wire.PartSpec{{Number: 1, Size: int64(len(data))}}, TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		racers[i] = racer{id, put(t, p.Parts, data, int64(len(data)), nil), data}
	}
	errs := make([]error, len(racers))
	var wg sync.WaitGroup
	for i, r := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.Store.Complete(ctx, k, r.id, r.done, storage.CompleteOptions{ForbidOverwrite: true})
		}()
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch code(err) {
		case "":
			if won >= 0 {
				t.Fatalf("racers %d and %d both completed", won, i)
			}
			won = i
		case errcode.ObjectExists:
		default:
			t.Fatalf("racer %d: %v", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no racer completed")
	}
	if got, err := f.Read(k); err != nil || !bytes.Equal(got, racers[won].data) {
		t.Fatalf("stored %q (%v), the winner wrote %q", got, err, racers[won].data)
	}
	for i, r := range racers {
		if i != won {
			f.Store.Abort(ctx, k, r.id)
		}
	}
}

// SSE-C: the key reaches storage at initiate; part URLs pin its MD5 (and, where the store
// signs it, the key); a part without the key is refused; the store names the key header.
func testSSEC(t *testing.T, newStore New) {
	f := newStore(t, Options{})
	k := key(t)
	raw := random(32)
	sum := md5.Sum(raw)
	customerKey, keyMD5 := base64.StdEncoding.EncodeToString(raw), base64.StdEncoding.EncodeToString(sum[:])
	id, err := f.Store.Initiate(ctx, &storage.Object{Key: k, ContentType: "text/plain",
		Encryption: &storage.Encryption{Type: storage.SSEC, CustomerKey: customerKey, CustomerKeyMD5: keyMD5}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.Store.Presign(ctx, &storage.PresignRequest{Key: k, UploadID: id, Parts: []wire.PartSpec{{Number: 1, Size: 5}},
		TTL: time.Hour, CustomerKeyMD5: keyMD5, CustomerKey: customerKey})
	if err != nil {
		t.Fatal(err)
	}
	part := p.Parts[0]
	if part.CustomerKeyHeader == "" || strings.Contains(part.URL, customerKey) || strings.Contains(part.URL, base64.URLEncoding.EncodeToString(raw)) {
		t.Fatalf("part %+v: it must name the key header and never carry the key", part)
	}
	for _, v := range part.Headers {
		if v == customerKey {
			t.Fatal("the key is in the part's headers")
		}
	}
	if _, err := wire.PutPart(ctx, http.DefaultClient, part, []byte("hello"), nil); err == nil {
		t.Fatal("a part without the customer key was stored")
	}
	done := put(t, p.Parts, []byte("hello"), 5, http.Header{http.CanonicalHeaderKey(part.CustomerKeyHeader): {customerKey}})
	if _, err := f.Store.Complete(ctx, k, id, done, storage.CompleteOptions{}); err != nil {
		t.Fatal(err)
	}
}

// Part URLs never outlive the credentials that signed them.
func testExpiryClamp(t *testing.T, newStore New) {
	soon := time.Now().Add(30 * time.Minute).Truncate(time.Second)
	f := newStore(t, Options{CredentialsExpire: soon})
	k := key(t)
	id, err := f.Store.Initiate(ctx, &storage.Object{Key: k, ContentType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Store.Abort(ctx, k, id)
	p, err := f.Store.Presign(ctx, &storage.PresignRequest{Key: k, UploadID: id, Parts: []wire.PartSpec{{Number: 1, Size: 5}}, TTL: 2 * time.Hour})
	if err != nil || p.Expires.After(soon) || p.Expires.Before(soon.Add(-time.Minute)) {
		t.Fatalf("URLs asked for 2h with credentials ending in 30m expire at %v (%v)", p.Expires, err)
	}
}

// faults answers the next matching requests itself, and passes the rest on.
type faults struct {
	mu     sync.Mutex
	armed  []fault
	passed atomic.Int32
	base   http.RoundTripper
}

type fault struct {
	match  func(*http.Request) bool
	answer func() (*http.Response, error)
}

func (f *faults) arm(n int, match func(*http.Request) bool, answer func() (*http.Response, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 0; i < n; i++ {
		f.armed = append(f.armed, fault{match, answer})
	}
}

func (f *faults) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	for i, a := range f.armed {
		if a.match(r) {
			f.armed = append(f.armed[:i], f.armed[i+1:]...)
			f.mu.Unlock()
			if r.Body != nil {
				io.Copy(io.Discard, r.Body)
				r.Body.Close()
			}
			return a.answer()
		}
	}
	f.mu.Unlock()
	f.passed.Add(1)
	return f.base.RoundTrip(r)
}

func xmlAnswer(status int, body string) func() (*http.Response, error) {
	return func() (*http.Response, error) {
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/xml"}},
			Body: io.NopCloser(strings.NewReader(body))}, nil
	}
}

func isInitiate(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Query().Has("uploads")
}
func isComplete(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Query().Has("uploadId")
}

// Transient faults are retried (5xx, SlowDown, a reset, a 200 whose body is an Error);
// refusals are not, and map to stable codes.
func testFaults(t *testing.T, newStore New) {
	inj := &faults{base: http.DefaultTransport}
	f := newStore(t, Options{HTTP: &http.Client{Transport: inj}})
	k := key(t)

	inj.arm(1, isInitiate, xmlAnswer(503, "<Error><Code>SlowDown</Code><Message>slow</Message></Error>"))
	inj.arm(1, isInitiate, xmlAnswer(500, "<Error><Code>InternalError</Code><Message>oops</Message></Error>"))
	inj.arm(1, isInitiate, func() (*http.Response, error) { return nil, errors.New("connection reset by peer") })
	id, err := f.Store.Initiate(ctx, &storage.Object{Key: k, ContentType: "text/plain"})
	if err != nil {
		t.Fatalf("initiate after three transient faults: %v", err)
	}
	p, _ := f.Store.Presign(ctx, &storage.PresignRequest{Key: k, UploadID: id, Parts: []wire.PartSpec{{Number: 1, Size: 5}}, TTL: time.Hour})
	done := put(t, p.Parts, []byte("hello"), 5, nil)
	inj.arm(1, isComplete, xmlAnswer(200, "\n\n<?xml version=\"1.0\"?>\n<Error><Code>InternalError</Code><Message>try again</Message></Error>"))
	if _, err := f.Store.Complete(ctx, k, id, done, storage.CompleteOptions{}); err != nil {
		t.Fatalf("complete after a 200 with an Error body: %v", err)
	}
	if got, err := f.Read(k); err != nil || string(got) != "hello" {
		t.Fatalf("stored %q, %v", got, err)
	}

	before := inj.passed.Load()
	inj.arm(1, isInitiate, xmlAnswer(403, "<Error><Code>AccessDenied</Code><Message>no</Message><RequestId>req-403</RequestId></Error>"))
	_, err = f.Store.Initiate(ctx, &storage.Object{Key: k + "-2", ContentType: "text/plain"})
	if e := errcode.As(err); e.Code != errcode.UpstreamDenied || e.UpstreamRequestID != "req-403" || inj.passed.Load() != before {
		t.Fatalf("a refusal: %v (retried: %v)", err, inj.passed.Load() != before)
	}
	inj.arm(10, isInitiate, xmlAnswer(503, "<Error><Code>SlowDown</Code></Error>"))
	short, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := f.Store.Initiate(short, &storage.Object{Key: k + "-3", ContentType: "text/plain"}); code(err) != errcode.UpstreamBusy {
		t.Fatalf("SlowDown to the end: %v", err)
	}
}

// The compact form a store makes (or the service makes from its full URLs) rebuilds, byte
// for byte, the full form signed at the same moment — a plan with a shorter last part, parts
// asked for out of order, unpinned sizes, SSE-C — and the server takes parts through it.
func testCompactForm(t *testing.T, newStore New) {
	now := time.Now().Truncate(time.Second)
	f := newStore(t, Options{Now: func() time.Time { return now }})
	minPart := f.Store.Capabilities().MinPartSize
	raw := random(32)
	sum := md5.Sum(raw)
	customerKey, keyMD5 := base64.StdEncoding.EncodeToString(raw), base64.StdEncoding.EncodeToString(sum[:])
	data := random(int(2*minPart + 7))
	cases := []struct {
		name  string
		enc   *storage.Encryption
		req   storage.PresignRequest
		extra http.Header
	}{
		{name: "plan", req: storage.PresignRequest{Parts: specs(int64(len(data)), minPart)}},
		{name: "out of order", req: storage.PresignRequest{Parts: []wire.PartSpec{{Number: 3, Size: 7}, {Number: 1, Size: minPart}, {Number: 2, Size: minPart}}}},
		{name: "unpinned", req: storage.PresignRequest{Parts: []wire.PartSpec{{Number: 1}, {Number: 2}, {Number: 3}}, Unpinned: true}},
		{name: "SSE-C", enc: &storage.Encryption{Type: storage.SSEC, CustomerKey: customerKey, CustomerKeyMD5: keyMD5},
			req: storage.PresignRequest{Parts: specs(int64(len(data)), minPart), CustomerKeyMD5: keyMD5, CustomerKey: customerKey}},
	}
	for _, c := range cases {
		k := key(t) + "/" + wire.PartNumberPlaceholder + " " + wire.SignaturePlaceholder // escaped in the template's path
		id, err := f.Store.Initiate(ctx, &storage.Object{Key: k, ContentType: "application/octet-stream", Encryption: c.enc})
		if err != nil {
			t.Fatal(err)
		}
		req := c.req
		req.Key, req.UploadID, req.TTL = k, id, time.Hour
		full, err := f.Store.Presign(ctx, &req)
		if err != nil || full.Compact != nil {
			t.Fatalf("%s: the full form: %v, compact %v unasked", c.name, err, full.Compact != nil)
		}
		req.Compact = true
		p, err := f.Store.Presign(ctx, &req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		compact := p.Compact
		if compact == nil { // a store that makes only full URLs: the service compacts them
			var ok bool
			if compact, ok = wire.Compact(p.Parts); !ok {
				t.Fatalf("%s: the store's URLs share no template", c.name)
			}
		} else if p.Parts != nil || !p.Expires.Equal(full.Expires) {
			t.Fatalf("%s: the compact answer also has %d full parts, or expires at %v, not %v", c.name, len(p.Parts), p.Expires, full.Expires)
		}
		parts, err := compact.Expand()
		if err != nil || len(parts) != len(full.Parts) {
			t.Fatalf("%s: %d parts expanded (%v), want %d", c.name, len(parts), err, len(full.Parts))
		}
		for i := range parts {
			if !reflect.DeepEqual(parts[i], full.Parts[i]) {
				t.Fatalf("%s: part %d\ncompact %+v\n   full %+v", c.name, i, parts[i], full.Parts[i])
			}
		}
		// Each URL built as a client builds it, sent with the part's bytes.
		part := compact.Lookup()
		var extra http.Header
		if c.enc != nil {
			extra = http.Header{http.CanonicalHeaderKey(parts[0].CustomerKeyHeader): {customerKey}}
		}
		var done []wire.CompletedPart
		for n := 1; n <= 3; n++ {
			pp, ok := part(n)
			if !ok {
				t.Fatalf("%s: no part %d", c.name, n)
			}
			body := data[int64(n-1)*minPart : min(int64(n)*minPart, int64(len(data)))]
			etag, err := wire.PutPart(ctx, http.DefaultClient, pp, body, extra)
			if err != nil {
				t.Fatalf("%s: part %d through its compact URL: %v", c.name, n, err)
			}
			done = append(done, wire.CompletedPart{PartNumber: n, ETag: etag})
		}
		if _, err := f.Store.Complete(ctx, k, id, done, storage.CompleteOptions{}); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if c.enc == nil {
			if got, err := f.Read(k); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%s: stored %d bytes (%v), want the %d sent", c.name, len(got), err, len(data))
			}
		}
	}
}

// objectsOf is the store's storage.Objects; a store without it skips the rest of the test
// (the suite then checks only its core).
func objectsOf(t *testing.T, s storage.Store) storage.Objects {
	t.Helper()
	o, ok := s.(storage.Objects)
	if !ok {
		t.Skip("the store has no storage.Objects: its object checks are skipped")
	}
	return o
}

// notEmbedded fails when a production store passes for local mode's embedded store (the
// API would then serve the demo page and download links beside it).
func notEmbedded(t *testing.T, s storage.Store) {
	t.Helper()
	if _, ok := s.(storage.Embedded); ok {
		t.Fatalf("%T implements storage.Embedded: only local mode's store may", s)
	}
}

// checkChecksum holds a store to the whole-object checksum its capabilities name: its
// complete answers it (the service compares it without a read), and so does a HEAD, both
// equal to the oracle's (hash/crc64 with the algorithm's table) over the bytes uploaded.
func checkChecksum(t *testing.T, name string, data []byte, c *wire.Completed, info storage.ObjectInfo) {
	t.Helper()
	algo := checksum.Of(name)
	if name != "" && algo == nil {
		t.Fatalf("Capabilities().Checksum = %q: not an algorithm directup knows", name)
	}
	if algo == nil {
		return
	}
	want := algo.Format(algo.Checksum(data))
	got, head := c.CRC64, info.CRC64
	if algo == checksum.NVME {
		got, head = c.CRC64NVME, info.CRC64NVME
	}
	if got != want || head != want {
		t.Errorf("%s: the complete answered %q and a HEAD %q; the bytes' is %s", name, got, head, want)
	}
}
