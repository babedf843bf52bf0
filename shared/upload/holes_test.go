package upload_test

// Reproductions of the holes an outside attack found in the newest surfaces (temporary
// keys, records in the bucket, content verification, events). Each failed on the code
// before its fix.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/directup/directup/shared/cos"
	"github.com/directup/directup/shared/cos/campolicy"
	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/hook"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/records"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/storerest"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

const holesSecret = "holes-secret-0123456789abcdef0123"

// told keeps every event the service tells.
type told struct {
	mu     sync.Mutex
	events []events.Event
}

func (t *told) Publish(_ context.Context, ev *events.Event) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events = append(t.events, *ev)
	return nil
}

func (t *told) all() []events.Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]events.Event(nil), t.events...)
}

// flakyStore is the COS client of a local store whose Delete fails while failDeletes > 0,
// and whose temporary keys come from the local store's STS stand-in (or fail).
type flakyStore struct {
	*cos.Client
	failDeletes atomic.Int32
	deletes     atomic.Int32
}

func (f *flakyStore) Delete(ctx context.Context, key string) error {
	f.deletes.Add(1)
	if f.failDeletes.Add(-1) >= 0 {
		return &errcode.Error{Code: errcode.UpstreamBusy, Message: "delete refused (test)"}
	}
	return f.Client.Delete(ctx, key)
}

type holesEnv struct {
	b     *functest.Backend
	store *flakyStore
	svc   *upload.Service
	told  *told
	log   *bytes.Buffer
}

func newHolesEnv(t *testing.T, adjust func(*policy.Policy), stsFails bool, opts ...upload.Option) *holesEnv {
	t.Helper()
	return newHolesEnvOn(t, functest.NewBackend(t), adjust, stsFails, opts...)
}

// newHolesEnvOn is newHolesEnv on the store b.
func newHolesEnvOn(t *testing.T, b *functest.Backend, adjust func(*policy.Policy), stsFails bool, opts ...upload.Option) *holesEnv {
	t.Helper()
	return newHolesEnvServing(t, b, adjust, stsFails, nil, opts...)
}

// newHolesEnvServing is newHolesEnvOn with the service given serve(the env's store)
// instead of the store itself (nil: the store): a wrapper that watches or fails calls.
func newHolesEnvServing(t *testing.T, b *functest.Backend, adjust func(*policy.Policy), stsFails bool,
	serve func(*flakyStore) storage.Store, opts ...upload.Option) *holesEnv {
	t.Helper()
	c := b.Client(t)
	c.BaseDelay, c.MaxDelay = time.Millisecond, time.Millisecond
	c.Issuer = func(_ context.Context, policy string, ttl time.Duration) (credentials.Value, string, error) {
		if stsFails {
			return credentials.Value{}, "sts-req-1", errors.New("STS is down (test)")
		}
		var p campolicy.Policy
		if err := json.Unmarshal([]byte(policy), &p); err != nil {
			return credentials.Value{}, "", err
		}
		k, exp := b.Store.MintTemporary(p, ttl)
		return credentials.Value{AccessKeyID: k.SecretID, SecretAccessKey: k.SecretKey, SessionToken: k.SessionToken, Expires: exp}, "sts-req-1", nil
	}
	p := policy.Default()
	p.ClientKeys, p.AllowSTS = true, true
	if adjust != nil {
		adjust(&p)
	}
	store := &flakyStore{Client: c}
	var served storage.Store = store
	if serve != nil {
		served = serve(store)
	}
	tl := &told{}
	var log bytes.Buffer
	svc, err := upload.NewService(served, p, []byte(holesSecret), append([]upload.Option{upload.WithEvents(tl),
		upload.WithLog(slog.New(slog.NewJSONHandler(&log, nil)))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &holesEnv{b: b, store: store, svc: svc, told: tl, log: &log}
}

// upload runs a whole upload of data to key through the service, as a client does.
func (e *holesEnv) upload(t *testing.T, ctx context.Context, key, contentType string, data []byte) (*upload.Initiated, *wire.Completed, error) {
	t.Helper()
	size := int64(len(data))
	up, err := e.svc.Initiate(ctx, &policy.InitiateRequest{Key: key, ContentType: contentType, Size: &size})
	if err != nil {
		return nil, nil, err
	}
	req, _ := http.NewRequest(http.MethodPut, up.Parts[0].URL, bytes.NewReader(data))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("part PUT: %d", resp.StatusCode)
	}
	done, err := e.svc.Complete(ctx, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: resp.Header.Get("ETag")}})
	return up, done, err
}

func (e *holesEnv) exists(t *testing.T, key string) bool {
	t.Helper()
	info, err := e.store.Stat(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return info.Exists
}

// recordsIn lists directup's records in the local store.
func (e *holesEnv) recordsIn(t *testing.T) []string {
	t.Helper()
	var out []string
	root := filepath.Dir(e.b.Store.ObjectPath("uploads/.directup/x"))
	filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			out = append(out, path)
		}
		return nil
	})
	return out
}

func errCode(err error) (code, field string) {
	var e *errcode.Error
	if errors.As(err, &e) {
		return e.Code, e.Field
	}
	return "", ""
}

// Item 1: a key holding a CAM wildcard or policy variable — from the client or the hook —
// never reaches a presigned URL, a CAM resource or a record; the request is refused before
// anything reaches storage.
func TestKeysNeverCarryPolicyPatterns(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	ctx := context.Background()
	size := int64(100)
	for _, key := range []string{"uploads/*", "uploads/alice/*.png", "uploads/a*b.png", "uploads/${uin}/x.png",
		"uploads/${cos:prefix}", "uploads/a?.png", "uploads/*/.directup/x"} {
		before := e.b.Store.Requests()
		for route, call := range map[string]func() error{
			"POST /sts": func() error {
				_, err := e.svc.Keys(ctx, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size})
				return err
			},
			"POST /uploads": func() error {
				_, err := e.svc.Initiate(ctx, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size})
				return err
			},
		} {
			if code, field := errCode(call()); code != errcode.InvalidField || field != "key" {
				t.Errorf("%s with key %q: %s %s, want invalid_field key", route, key, code, field)
			}
		}
		if n := e.b.Store.Requests() - before; n != 0 {
			t.Errorf("key %q: %d requests reached storage", key, n)
		}
	}
	if recs := e.recordsIn(t); len(recs) != 0 {
		t.Errorf("records written for refused keys: %v", recs)
	}
}

// hookKey is a pre-create hook that rewrites every key.
type hookKey string

func (h hookKey) Create(context.Context, *hook.CreateEvent) (*hook.Decision, error) {
	yes := true
	return &hook.Decision{Allow: &yes, Key: string(h)}, nil
}

func TestHookKeysNeverCarryPolicyPatterns(t *testing.T) {
	for _, key := range []string{"uploads/*", "uploads/bob/*", "uploads/${uin}", "uploads/a?"} {
		b := functest.NewBackend(t)
		p := policy.Default()
		p.AllowSTS = true
		c := b.Client(t)
		c.Issuer = func(context.Context, string, time.Duration) (credentials.Value, string, error) {
			t.Errorf("hook key %q reached STS", key)
			return credentials.Value{}, "", errors.New("no")
		}
		svc, err := upload.NewService(c, p, []byte(holesSecret), upload.WithHook(hookKey(key)))
		if err != nil {
			t.Fatal(err)
		}
		size := int64(100)
		_, err = svc.Keys(context.Background(), &policy.InitiateRequest{Filename: "a.png", ContentType: "image/png", Size: &size})
		if code, _ := errCode(err); code != errcode.HookUnavailable {
			t.Errorf("/sts with hook key %q: %v", key, err)
		}
		_, err = svc.Initiate(context.Background(), &policy.InitiateRequest{Filename: "a.png", ContentType: "image/png", Size: &size})
		if code, _ := errCode(err); code != errcode.HookUnavailable {
			t.Errorf("initiate with hook key %q: %v", key, err)
		}
		if b.Store.Requests() != 0 {
			t.Errorf("hook key %q reached storage", key)
		}
	}
}

// Item 3: a declaration is written only once the keys exist.
func TestDeclarationOnlyOnceKeysExist(t *testing.T) {
	e := newHolesEnv(t, nil, true)
	size := int64(1)
	_, err := e.svc.Keys(context.Background(), &policy.InitiateRequest{Key: "uploads/alice/avatar2.png", ContentType: "image/png", Size: &size})
	if code, _ := errCode(err); code != errcode.CredentialsFailed {
		t.Fatalf("STS down: %v", err)
	}
	if recs := e.recordsIn(t); len(recs) != 0 {
		t.Fatalf("a failed /sts left records: %v", recs)
	}
}

// Item 3: Mallory's declaration for Alice's key is not held against Alice's later honest
// upload (through the API), and a later declaration replaces an earlier one.
func TestDeclarationDoesNotPoisonAKey(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	key := "uploads/alice/avatar2.png"
	mallory := upload.WithCaller(context.Background(), "mallory")
	alice := upload.WithCaller(context.Background(), "alice")
	one := int64(1)
	if _, _, err := e.upload(t, alice, key, "image/png", png56); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &one}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if !e.exists(t, key) {
		t.Fatal("Alice's honest upload was deleted by Mallory's declaration")
	}
	evs := e.told.all()
	if last := evs[len(evs)-1]; last.Type != events.Completed || last.Source != "storage" {
		t.Fatalf("the storage check told %+v", last)
	}

	// Keys declared again by the rightful writer replace Mallory's declaration.
	key2 := "uploads/alice/avatar3.png"
	if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: key2, ContentType: "image/png", Size: &one}); err != nil {
		t.Fatal(err)
	}
	n := int64(len(png56))
	if _, err := e.svc.Keys(alice, &policy.InitiateRequest{Key: key2, ContentType: "image/png", Size: &n}); err != nil {
		t.Fatalf("Alice's own declaration after Mallory's: %v", err)
	}
	put(t, e.store.Client, key2, "image/png", png56)
	if err := e.svc.ObjectCreated(context.Background(), key2); err != nil {
		t.Fatal(err)
	}
	if !e.exists(t, key2) {
		t.Fatal("the rightful writer's later declaration did not win")
	}
}

// Item 4: records not sealed by this deployment are never acted on or told, and are logged.
func TestForgedRecordsAreNeverActedOn(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	ctx := context.Background()
	book := records.New(e.store.Client, "uploads/", []byte("another deployment's secret-0123"))

	// A rejection planted for an object that never existed: nothing is told.
	ghost := "uploads/bob/payroll.pdf"
	raw, _ := json.Marshal(map[string]any{"type": events.Completed, "bucket": "local-1250000000", "key": ghost, "size": 1, "source": "storage"})
	sum := book.Path(records.Rejected, ghost)
	put(t, e.store.Client, sum, "application/json", raw)
	// And one sealed by another secret, in the record format itself.
	ghost2 := "uploads/bob/salary.pdf"
	if err := book.Put(ctx, records.Rejected, ghost2, map[string]any{"event": map[string]any{"type": events.Completed, "key": ghost2}}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{ghost, ghost2} {
		if err := e.svc.ObjectCreated(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if evs := e.told.all(); len(evs) != 0 {
		t.Fatalf("forged records were told: %+v", evs)
	}

	// A declaration planted for an honest object (one not written through the API, which
	// declarations would concern) does not remove it.
	honest := "uploads/carol/photo.png"
	put(t, e.store.Client, honest, "image/png", png56)
	if err := book.Put(ctx, records.Declared, honest, map[string]any{"size": 1, "contentType": "image/png", "notBefore": 0, "notAfter": 1 << 40}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ObjectCreated(ctx, honest); err != nil {
		t.Fatal(err)
	}
	if !e.exists(t, honest) {
		t.Fatal("a forged declaration removed an honest object")
	}
	if n := strings.Count(e.log.String(), "record not written by directup"); n < 3 || !strings.Contains(e.log.String(), `"level":"ERROR"`) {
		t.Fatalf("forged records must be logged as errors (%d): %s", n, e.log.String())
	}
}

// Item 5: a contradiction whose removal fails never ends as a stored object nobody hears
// of: the delete is retried, the answer and the event say so, and a later call finishes it.
func TestRejectedObjectIsRemovedEventually(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	ctx := context.Background()
	html := []byte("<html><script>alert(1)</script></html>")
	key := "uploads/mallory/cat.png"

	e.store.failDeletes.Store(2) // the first attempt and one retry fail: the third removes it
	if _, _, err := e.upload(t, ctx, key, "image/png", html); !strings.Contains(err.Error(), "deleted") {
		t.Fatalf("a removal retried: %v", err)
	}
	if e.exists(t, key) || e.store.deletes.Load() != 3 {
		t.Fatalf("the delete is retried (%d attempts)", e.store.deletes.Load())
	}

	e.store.failDeletes.Store(1 << 20)
	up, _, err := e.upload(t, ctx, key, "image/png", html)
	if code, _ := errCode(err); code != errcode.ContentMismatch || !strings.Contains(err.Error(), "could not be removed") {
		t.Fatalf("complete when the delete keeps failing: %v", err)
	}
	evs := e.told.all()
	if last := evs[len(evs)-1]; last.Type != events.Rejected || !last.RemovalPending {
		t.Fatalf("the rejection must be told with its state: %+v", last)
	}
	if !e.exists(t, key) {
		t.Fatal("the test store should have kept the object")
	}
	// The client retries complete once storage is back: it is removed, and the answer
	// still says content_mismatch (not 404).
	e.store.failDeletes.Store(0)
	_, err = e.svc.Complete(ctx, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: "x"}})
	if code, _ := errCode(err); code != errcode.ContentMismatch {
		t.Fatalf("retried complete: %v", err)
	}
	if e.exists(t, key) {
		t.Fatal("the retried complete left the rejected object")
	}

	// The storage-triggered function finishes it as well; abort after it answers 204.
	e.store.failDeletes.Store(1 << 20)
	up, _, _ = e.upload(t, ctx, key, "image/png", html)
	e.store.failDeletes.Store(0)
	if err := e.svc.ObjectCreated(ctx, key); err != nil {
		t.Fatal(err)
	}
	if e.exists(t, key) {
		t.Fatal("the storage-triggered check left the rejected object")
	}
	if err := e.svc.Abort(ctx, up.Token, up.UploadID); err != nil {
		t.Fatalf("abort after the removal: %v", err)
	}
	// The object at the key was never told as completed.
	for _, ev := range e.told.all() {
		if ev.Type == events.Completed && ev.Key == key {
			t.Fatalf("a rejected object was told as completed: %+v", ev)
		}
	}
}

// Item 6: two uploads of the same bytes to one key are two outcomes with two ids; the
// storage-triggered function names each write as the API did.
func TestEventIDsTellWritesApart(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	key := "uploads/shared/report.png"
	alice := upload.WithCaller(context.Background(), "alice")
	bob := upload.WithCaller(context.Background(), "bob")
	if _, _, err := e.upload(t, alice, key, "image/png", png56); err != nil {
		t.Fatal(err)
	}
	first := e.told.all()[0]
	if _, _, err := e.upload(t, bob, key, "image/png", png56); err != nil {
		t.Fatal(err)
	}
	second := e.told.all()[1]
	if first.ID == second.ID || first.ETag != second.ETag {
		t.Fatalf("two uploads share an id: %s (%s) and %s (%s)", first.ID, first.Caller, second.ID, second.Caller)
	}
	if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if storage := e.told.all()[2]; storage.ID != second.ID || storage.Source != "storage" {
		t.Fatalf("the storage function's id %s, the API's %s", storage.ID, second.ID)
	}
	if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if again := e.told.all()[3]; again.ID != second.ID {
		t.Fatal("a redelivery of one outcome must keep its id")
	}
	for _, ev := range e.told.all() {
		if _, ok := ev.Metadata[policy.WriteMetadata]; ok {
			t.Fatalf("directup's own metadata in an event: %+v", ev.Metadata)
		}
	}
	// Clients cannot set directup's metadata themselves.
	size := int64(10)
	_, err := e.svc.Initiate(alice, &policy.InitiateRequest{Filename: "a.bin", ContentType: "application/octet-stream", Size: &size,
		Metadata: map[string]string{"Directup-Upload": "x"}})
	if code, field := errCode(err); code != errcode.PolicyDenied || field != "metadata.Directup-Upload" {
		t.Fatalf("client metadata directup-upload: %v", err)
	}
}

// png56 is a 56-byte PNG head: detected as image/png.
var png56 = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"), make([]byte, 23)...)

func put(t *testing.T, c *cos.Client, key, contentType string, body []byte) {
	t.Helper()
	if _, _, err := c.Do(context.Background(), storerest.Call{Method: http.MethodPut, Key: key, Body: body,
		Header: http.Header{"Content-Type": {contentType}}}); err != nil {
		t.Fatal(err)
	}
}

// A declaration holds only for an object written while its keys were valid: one made for
// keys long expired is not held against a later object at the key.
func TestDeclarationHoldsOnlyWhileItsKeysWereValid(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	ctx := context.Background()
	key := "uploads/alice/old.png"
	book := records.New(e.store.Client, "uploads/", []byte(holesSecret)) // this deployment's own seal
	past := time.Now().Add(-48 * time.Hour).Unix()
	if err := book.Put(ctx, records.Declared, key, map[string]any{"declared": []map[string]any{{"size": 1, "contentType": "image/png", "caller": "mallory",
		"keys": "0011223344556677", "notBefore": past, "notAfter": past + 1800}}}); err != nil {
		t.Fatal(err)
	}
	put(t, e.store.Client, key, "image/png", png56)
	if err := e.svc.ObjectCreated(ctx, key); err != nil {
		t.Fatal(err)
	}
	if !e.exists(t, key) {
		t.Fatal("an expired declaration removed a later object")
	}
	// The same declaration, valid now, is held to.
	now := time.Now().Unix()
	if err := book.Put(ctx, records.Declared, key, map[string]any{"declared": []map[string]any{{"size": 1, "contentType": "image/png", "caller": "mallory",
		"keys": "0011223344556677", "notBefore": now - 60, "notAfter": now + 1800}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ObjectCreated(ctx, key); err != nil {
		t.Fatal(err)
	}
	if e.exists(t, key) {
		t.Fatal("an object of another size than its keys declared stayed")
	}
}

// Found by the outside attack on the first fix: a declaration made after an honest upload
// through the API (Mallory's keys for Alice's key), or one that another caller's keys
// made for the same key, is never held against the honest object; a refused complete
// declares nothing; and temporary keys never overwrite a named key the deployment keeps.
func TestDeclarationsOfOtherCallers(t *testing.T) {
	for _, forbid := range []bool{false, true} {
		e := newHolesEnv(t, func(p *policy.Policy) { p.ForbidOverwrite = forbid }, false)
		ctx := context.Background()
		mallory := upload.WithCaller(ctx, "mallory")
		alice := upload.WithCaller(ctx, "alice")
		one := int64(1)

		// Alice through the API; Mallory asks keys for her key afterwards (refused when
		// overwrites are forbidden) and stores nothing.
		key := "uploads/shared/report.png"
		if _, _, err := e.upload(t, alice, key, "image/png", png56); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &one})
		if code, field := errCode(err); forbid && (code != errcode.PolicyDenied || field != "forbidOverwrite") || !forbid && err != nil {
			t.Fatalf("forbid %v: keys for a named key: %v", forbid, err)
		}
		if err := e.svc.ObjectCreated(ctx, key); err != nil {
			t.Fatal(err)
		}
		if !e.exists(t, key) {
			t.Fatalf("forbid %v: Mallory's later declaration removed Alice's API upload", forbid)
		}

		// Mallory's upload on a key, refused at complete (forbid) or completed first and
		// then replaced by Alice's: no declaration is held against Alice's object.
		key2 := "uploads/shared/f2.png"
		size := int64(1)
		mup, err := e.svc.Initiate(mallory, &policy.InitiateRequest{Key: key2, ContentType: "image/png", Size: &size})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.upload(t, alice, key2, "image/png", png56); err != nil {
			t.Fatal(err)
		}
		e.svc.Complete(mallory, mup.Token, mup.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: "x"}})
		if err := e.svc.ObjectCreated(ctx, key2); err != nil {
			t.Fatal(err)
		}
		if !e.exists(t, key2) {
			t.Fatalf("forbid %v: a refused complete removed Alice's object", forbid)
		}
		if forbid {
			continue
		}

		// Alice's keys, then Mallory's for the same key; Alice's SDK stores what she
		// declared: her declaration holds it.
		key3 := "uploads/shared/f1b.png"
		n := int64(len(png56))
		if _, err := e.svc.Keys(alice, &policy.InitiateRequest{Key: key3, ContentType: "image/png", Size: &n}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: key3, ContentType: "image/png", Size: &one}); err != nil {
			t.Fatal(err)
		}
		put(t, e.store.Client, key3, "image/png", png56)
		if err := e.svc.ObjectCreated(ctx, key3); err != nil {
			t.Fatal(err)
		}
		if !e.exists(t, key3) {
			t.Fatal("Mallory's declaration removed what Alice's keys stored as she declared")
		}
		// What matches no declaration is removed, whoever's metadata it claims.
		put(t, e.store.Client, key3, "image/png", append(png56, 0))
		if err := e.svc.ObjectCreated(ctx, key3); err != nil {
			t.Fatal(err)
		}
		if e.exists(t, key3) {
			t.Fatal("an object matching no declaration stayed")
		}
	}
}

// A client with temporary keys can set any metadata, but not seal directup-upload: a
// value it makes up does not exempt its object from its declaration.
func TestWriteValueCannotBeForged(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	ctx := upload.WithCaller(context.Background(), "mallory")
	key := "uploads/mallory/x.png"
	one := int64(1)
	if _, err := e.svc.Keys(ctx, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &one}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.store.Client.Do(context.Background(), storerest.Call{Method: http.MethodPut, Key: key, Body: png56,
		Header: http.Header{"Content-Type": {"image/png"}, "X-Cos-Meta-Directup-Upload": {strings.Repeat("a", 32)}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if e.exists(t, key) {
		t.Fatal("a made-up directup-upload value exempted an object from its declaration")
	}
}

// The write value's seal never reaches a client: the caller's own upload token carries
// only its id, so bytes written with temporary keys cannot pass as that API upload's.
func TestWriteSealIsNotInTheToken(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	ctx := upload.WithCaller(context.Background(), "mallory")
	key := "uploads/mallory/y.png"
	one := int64(1)
	up, err := e.svc.Initiate(ctx, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &one})
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(up.Token, ".")[1])
	var claims struct{ W string }
	json.Unmarshal(payload, &claims)
	if claims.W == "" {
		t.Fatal("the token names no write")
	}
	if _, err := e.svc.Keys(ctx, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &one}); errcode.As(err).Code != errcode.KeyBusy {
		t.Fatalf("keys for a key with an API upload open: %v", err)
	}
	if err := e.svc.Abort(ctx, up.Token, up.UploadID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Keys(ctx, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &one}); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{claims.W, claims.W + claims.W, claims.W + strings.Repeat("a", 16)} {
		if _, _, err := e.store.Client.Do(context.Background(), storerest.Call{Method: http.MethodPut, Key: key, Body: png56,
			Header: http.Header{"Content-Type": {"image/png"}, "X-Cos-Meta-Directup-Upload": {w}}}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
			t.Fatal(err)
		}
		if e.exists(t, key) {
			t.Fatalf("a write value built from the token (%q) exempted an object from its declaration", w)
		}
	}
}

// Third outside attack, F1: temporary keys for a key act on every upload to it — list it,
// send its parts, complete or abort it — so they are never handed out while an API upload
// to that key is open, and no API upload to a named key starts while another caller's keys
// for it are outstanding (the upload is aborted: nothing is left open).
func TestKeysAndAPIUploadsNeverShareAKey(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	alice := upload.WithCaller(context.Background(), "alice")
	mallory := upload.WithCaller(context.Background(), "mallory")
	size := int64(len(png56))
	key := "uploads/shared/report.png"
	up, err := e.svc.Initiate(alice, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size}); errcode.As(err).Code != errcode.KeyBusy {
		t.Fatalf("keys for a key with another caller's upload open: %v", err)
	}
	e.svc.Abort(alice, up.Token, up.UploadID)

	other := "uploads/shared/notes.png"
	if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: other, ContentType: "image/png", Size: &size}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Initiate(alice, &policy.InitiateRequest{Key: other, ContentType: "image/png", Size: &size}); errcode.As(err).Code != errcode.KeyBusy {
		t.Fatalf("an API upload to a key another caller holds keys for: %v", err)
	}
	if open, _ := e.store.OpenUploads(context.Background(), other); len(open) != 0 {
		t.Fatalf("the refused upload was left open: %v", open)
	}
	// The caller's own keys do not lock it out; generated keys collide with nobody's.
	if _, err := e.svc.Initiate(mallory, &policy.InitiateRequest{Key: other, ContentType: "image/png", Size: &size}); err != nil {
		t.Fatalf("an upload to a key the caller holds keys for: %v", err)
	}
	if _, err := e.svc.Initiate(alice, &policy.InitiateRequest{Filename: "r.png", ContentType: "image/png", Size: &size}); err != nil {
		t.Fatal(err)
	}
}

// A key's declarations are bounded: at most 32 sets of temporary keys outstanding for one
// key, so its record cannot grow without end; the 33rd is refused (409 key_busy) and
// nothing of it is kept.
func TestDeclarationsAreBounded(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	key := "uploads/shared/busy.png"
	size := int64(len(png56))
	for i := 0; i < 32; i++ {
		ctx := upload.WithCaller(context.Background(), "caller-"+strconv.Itoa(i))
		if _, err := e.svc.Keys(ctx, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size}); err != nil {
			t.Fatalf("keys %d: %v", i, err)
		}
	}
	ctx := upload.WithCaller(context.Background(), "caller-32")
	if _, err := e.svc.Keys(ctx, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size}); errcode.As(err).Code != errcode.KeyBusy {
		t.Fatalf("the 33rd set of keys: %v", err)
	}
}

// A caller renewing its keys for a named key while its SDK's own upload to it is open is
// not refused (the SDK asks again as keys expire); another caller still is.
func TestKeysRenewDuringTheCallersOwnUpload(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	alice := upload.WithCaller(context.Background(), "alice")
	size := int64(len(png56))
	key := "uploads/alice/long.png"
	if _, err := e.svc.Keys(alice, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size}); err != nil {
		t.Fatal(err)
	}
	// Alice's SDK starts its multipart upload with those keys.
	if _, err := e.store.Initiate(context.Background(), &storage.Object{Key: key, ContentType: "image/png"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Keys(alice, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size}); err != nil {
		t.Fatalf("renewing keys during the caller's own upload: %v", err)
	}
	bob := upload.WithCaller(context.Background(), "bob")
	if _, err := e.svc.Keys(bob, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size}); errcode.As(err).Code != errcode.KeyBusy {
		t.Fatalf("another caller's keys during it: %v", err)
	}
}

// Two requests for keys racing (found reviewing the fix for a refused request's
// declaration): while the first, with another caller's API upload open on the key, is
// still in its checks, its declaration is in the record — pending. The second request of
// the same caller must not count it as keys it holds and skip the open-upload check: it is
// refused too, and neither leaves a declaration. Keys once handed out are a renewal.
func TestPendingDeclarationIsNoRenewal(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	ctx := context.Background()
	size := int64(len(png56))
	key := "uploads/shared/report.png"
	alice, mallory := upload.WithCaller(ctx, "alice"), upload.WithCaller(ctx, "mallory")
	if _, err := e.svc.Initiate(alice, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size}); err != nil {
		t.Fatal(err)
	}
	book := records.New(e.store.Client, "uploads/", []byte(holesSecret))
	now := time.Now().Unix()
	inFlight := map[string]any{"size": size, "contentType": "image/png", "caller": "mallory", "keys": "0011223344556677",
		"notBefore": now - 1, "notAfter": now + 1800, "pending": true}
	if err := book.Put(ctx, records.Declared, key, map[string]any{"declared": []any{inFlight}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size}); errcode.As(err).Code != errcode.KeyBusy {
		t.Fatalf("keys while the caller's other request is in its checks and alice's upload is open: %v, want key_busy", err)
	}
	if callers := declaredCallers(t, book, key); len(callers) != 1 {
		t.Fatalf("the refused request left declarations %v, want only the other request's", callers)
	}
}

// What temporary keys write is held to the access the rules allow: the keys' CAM policy
// pins type and length only, so their SDK could send x-cos-acl: public-read or a grant,
// and the object would be served to anyone. The storage check reads the access list of
// an object written with keys and deletes one that grants others access, unless the rules
// allow an ACL.
func TestKeysObjectGrantingOthersIsDeleted(t *testing.T) {
	for _, tt := range []struct {
		name    string
		allowed []string
		grants  bool // UPLOAD_ALLOW_GRANTS
		header  http.Header
		stays   bool
	}{
		{"no ACL set", nil, false, nil, true},
		{"public-read", nil, false, http.Header{"X-Cos-Acl": {"public-read"}}, false},
		{"a grant to another account", nil, false, http.Header{"X-Cos-Grant-Read": {`id="qcs::cam::uin/100000000002:uin/100000000002"`}}, false},
		{"private", nil, false, http.Header{"X-Cos-Acl": {"private"}}, true},
		{"public-read where the rules allow it", []string{"public-read"}, false, http.Header{"X-Cos-Acl": {"public-read"}}, true},
		// Found by the outside attack: allowing one ACL let every grant through.
		{"full control to another account where public-read is allowed", []string{"public-read"}, false,
			http.Header{"X-Cos-Grant-Full-Control": {`id="qcs::cam::uin/100000000002:uin/100000000002"`}}, false},
		{"public-read-write where authenticated-read is allowed", []string{"authenticated-read"}, false,
			http.Header{"X-Cos-Acl": {"public-read-write"}}, false},
		{"a grant where grants are allowed", nil, true,
			http.Header{"X-Cos-Grant-Read": {`id="qcs::cam::uin/100000000002:uin/100000000002"`}}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newHolesEnv(t, func(p *policy.Policy) { p.AllowedACLs, p.AllowGrants = tt.allowed, tt.grants }, false)
			ctx := upload.WithCaller(context.Background(), "alice")
			size := int64(len(png56))
			keys, err := e.svc.Keys(ctx, &policy.InitiateRequest{Filename: "a.png", ContentType: "image/png", Size: &size})
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{"Content-Type": {"image/png"}}
			for k, v := range tt.header {
				h[k] = v
			}
			if _, _, err := e.store.Client.Do(ctx, storerest.Call{Method: http.MethodPut, Key: keys.Key, Body: png56, Header: h}); err != nil {
				t.Fatal(err)
			}
			if err := e.svc.ObjectCreated(ctx, keys.Key); err != nil {
				t.Fatal(err)
			}
			if got := e.exists(t, keys.Key); got != tt.stays {
				t.Fatalf("object stays %v, want %v", got, tt.stays)
			}
			if evs := e.told.all(); !tt.stays && (len(evs) == 0 || evs[len(evs)-1].Type != events.Rejected) {
				t.Errorf("events %+v, want upload.rejected", evs)
			}
		})
	}
}

// refusedReads is a store whose object reads are refused as the store refuses a role
// without leave to decrypt an SSE-KMS object.
type refusedReads struct{ *flakyStore }

func (r refusedReads) ReadHead(context.Context, string, int) ([]byte, storage.ObjectInfo, error) {
	return nil, storage.ObjectInfo{}, &errcode.Error{Code: errcode.UpstreamDenied, Message: "COS refused the function's credentials: AccessDenied (test)"}
}

// README: where the verification read is refused (an SSE-KMS object the role may not
// decrypt), complete answers 502 upstream_denied, tells nothing, and the object stays
// unverified — nothing is removed on a read that could not be made — until a complete
// retried with the permission in place checks it.
func TestRefusedVerificationReadAnswersUpstreamDenied(t *testing.T) {
	e := newHolesEnvServing(t, functest.NewBackend(t), nil, false, func(fs *flakyStore) storage.Store { return refusedReads{fs} })
	_, _, err := e.upload(t, context.Background(), "uploads/alice/k.png", "image/png", png56)
	if got := errcode.As(err); got.Code != errcode.UpstreamDenied { // 502 over HTTP (httpapi)
		t.Fatalf("complete with the read refused: %v, want upstream_denied", err)
	}
	if !e.exists(t, "uploads/alice/k.png") {
		t.Error("the object was removed although it could not be read")
	}
	if evs := e.told.all(); len(evs) != 0 {
		t.Errorf("events %+v told for an object nobody checked", evs)
	}
}
