package queue_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/directup/directup/shared/apiclient"
	"github.com/directup/directup/shared/checksum"
	"github.com/directup/directup/shared/cos"
	"github.com/directup/directup/shared/cos/cossign"
	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/localcos"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/queue"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/webhook"
)

const callbackSecret = "callback-secret-0123456789"

type env struct {
	proc     *queue.Processor
	storeURL string
	store    *localcos.Server
	receiver *receiver
}

// receiver is a callback endpoint that checks every signature, as a user's would.
type receiver struct {
	*functest.Receiver
	t *testing.T
}

func newReceiver(t *testing.T) *receiver {
	return &receiver{Receiver: functest.NewReceiver(t, callbackSecret), t: t}
}

func (r *receiver) last() queue.Result {
	got := r.Accepted()
	if len(got) == 0 {
		r.t.Fatal("no callback arrived")
	}
	var res queue.Result
	json.Unmarshal(got[len(got)-1], &res)
	return res
}

func setup(t *testing.T, endpoint string, opts ...upload.Option) *env {
	return setupWith(t, endpoint, nil, nil, opts...)
}

// setupWith is setup with the store served through wrap (nil: as it is) and the
// deployment's rules adjusted (nil: the defaults).
func setupWith(t *testing.T, endpoint string, wrap func(http.Handler) http.Handler, adjust func(*policy.Policy), opts ...upload.Option) *env {
	cred := cossign.Credentials{SecretID: "AKIDq", SecretKey: "queue-secret", SessionToken: "queue-token"}
	store, err := localcos.New(t.TempDir(), "local-1250000000", cred)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = store
	if wrap != nil {
		h = wrap(store)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if endpoint == "" {
		endpoint = srv.URL
	}
	client, _ := cos.New(cos.Config{Bucket: "local-1250000000", Endpoint: endpoint},
		credentials.Static{AccessKeyID: cred.SecretID, SecretAccessKey: cred.SecretKey, SessionToken: cred.SessionToken}, nil)
	client.BaseDelay, client.MaxDelay = time.Millisecond, time.Millisecond
	p := policy.Default()
	if adjust != nil {
		adjust(&p)
	}
	svc, err := upload.NewService(client, p, []byte(strings.Repeat("t", 32)), opts...)
	if err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t)
	return &env{proc: queue.New(svc, svc.Records(), &queue.Callbacks{Secret: []byte(callbackSecret)}, nil), storeURL: srv.URL, store: store, receiver: rcv}
}

func (e *env) msg(fields string) []byte {
	return []byte(`{"callbackUrl":"` + e.receiver.URL + `/hook",` + fields + `}`)
}

func TestInitiateIsIdempotent(t *testing.T) {
	e := setup(t, "")
	ctx := context.Background()
	body := e.msg(`"action":"initiate","requestId":"job-1","filename":"a.mp4","contentType":"video/mp4","size":20000000`)
	first, out := e.proc.Handle(ctx, body, "sqs:m1")
	if out != queue.Done || first.Status != "ok" || first.Initiated == nil || first.Duplicate {
		t.Fatalf("first delivery: %+v %v", first, out)
	}
	if cb := e.receiver.last(); cb.Initiated == nil || cb.Initiated.UploadID != first.Initiated.UploadID || cb.RequestID != "job-1" {
		t.Fatalf("callback %+v", cb)
	}
	again, out := e.proc.Handle(ctx, body, "sqs:m1-redelivered")
	if out != queue.Done || !again.Duplicate || again.Initiated.UploadID != first.Initiated.UploadID {
		t.Fatalf("redelivery: %+v", again)
	}
	if n := e.store.Uploads(); n != 1 {
		t.Fatalf("%d multipart uploads for one message", n)
	}
}

func TestConcurrentRedeliveries(t *testing.T) {
	e := setup(t, "")
	body := e.msg(`"action":"initiate","filename":"a.bin","contentType":"application/octet-stream","size":100`)
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, out := e.proc.Handle(context.Background(), body, "cmq:topic:msg-7") // no requestId: the message id serves
			if out != queue.Done || res.Initiated == nil {
				t.Errorf("delivery %d: %+v", i, res)
				return
			}
			ids[i] = res.Initiated.UploadID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("deliveries saw different uploads: %v", ids)
		}
	}
	if n := e.store.Uploads(); n != 1 {
		t.Fatalf("%d multipart uploads left for one message", n)
	}
}

func TestCompleteAndAbortMessages(t *testing.T) {
	e := setup(t, "")
	ctx := context.Background()
	res, _ := e.proc.Handle(ctx, e.msg(`"action":"initiate","requestId":"r1","filename":"a.txt","contentType":"text/plain","size":5`), "m1")
	up := res.Initiated
	etag, err := (&apiclient.Client{}).PutPart(ctx, up.Parts[0], []byte("hello"), nil)
	if err != nil {
		t.Fatal(err)
	}
	complete := e.msg(fmt.Sprintf(`"action":"complete","requestId":"r2","uploadId":%q,"token":%q,"parts":[{"partNumber":1,"etag":%q}]`, up.UploadID, up.Token, etag))
	done, out := e.proc.Handle(ctx, complete, "m2")
	if out != queue.Done || done.Status != "ok" || done.Completed.Size != 5 {
		t.Fatalf("complete: %+v", done)
	}
	again, _ := e.proc.Handle(ctx, complete, "m2")
	if !again.Duplicate || again.Status != "ok" {
		t.Fatalf("a redelivered complete must answer from its marker, not NoSuchUpload: %+v", again)
	}

	res, _ = e.proc.Handle(ctx, e.msg(`"action":"initiate","requestId":"r3","filename":"b.txt","contentType":"text/plain","size":5`), "m3")
	abort := e.msg(fmt.Sprintf(`"action":"abort","requestId":"r4","uploadId":%q,"token":%q`, res.Initiated.UploadID, res.Initiated.Token))
	if r, out := e.proc.Handle(ctx, abort, "m4"); out != queue.Done || r.Status != "ok" || e.store.Uploads() != 0 {
		t.Fatalf("abort: %+v, %d uploads", r, e.store.Uploads())
	}
}

func TestPoisonMessages(t *testing.T) {
	e := setup(t, "")
	ctx := context.Background()
	tests := []struct {
		name string
		body []byte
		code string
	}{
		{"not JSON", []byte(`{"action":`), errcode.InvalidJSON},
		{"unknown action", e.msg(`"action":"delete"`), errcode.InvalidField},
		{"policy violation", e.msg(`"action":"initiate","filename":"a","contentType":"text/plain","size":1,"acl":"public-read"`), errcode.PolicyDenied},
		{"forged token", e.msg(`"action":"complete","uploadId":"u","token":"v1.x.y","parts":[]`), errcode.TokenInvalid},
		{"callback to a plain-http host", []byte(`{"action":"initiate","callbackUrl":"http://example.com/hook","filename":"a","contentType":"text/plain","size":1}`), errcode.InvalidField},
	}
	for _, tt := range tests {
		res, out := e.proc.Handle(ctx, tt.body, "poison-"+tt.name)
		if out != queue.Done || res.Status != "error" || res.Error.Code != tt.code {
			t.Errorf("%s: %+v %v, want a final %s", tt.name, res.Error, out, tt.code)
		}
	}
	if e.store.Uploads() != 0 {
		t.Error("a poison message created an upload")
	}
	if cb := e.receiver.last(); cb.Status != "error" {
		t.Errorf("the policy violation must be reported to the callback: %+v", cb)
	}
}

func TestCallbackFailures(t *testing.T) {
	e := setup(t, "")
	ctx := context.Background()
	body := e.msg(`"action":"initiate","requestId":"cb-1","filename":"a","contentType":"text/plain","size":1`)
	e.receiver.Status.Store(503)
	e.receiver.Fail.Store(3) // every attempt of the first delivery
	first, out := e.proc.Handle(ctx, body, "m")
	if out != queue.Retry {
		t.Fatalf("an undelivered callback must ask for redelivery: %+v", first)
	}
	again, out := e.proc.Handle(ctx, body, "m")
	if out != queue.Done || !again.Duplicate || again.Initiated.UploadID != first.Initiated.UploadID || e.receiver.last().RequestID != "cb-1" {
		t.Fatalf("redelivery: %+v %v", again, out)
	}
	e.receiver.Status.Store(400)
	e.receiver.Fail.Store(1)
	if _, out := e.proc.Handle(ctx, e.msg(`"action":"initiate","requestId":"cb-2","filename":"a","contentType":"text/plain","size":1`), "n"); out != queue.Done {
		t.Fatal("a receiver that refuses (4xx) must not cause endless redelivery")
	}
}

func TestStorageFailureIsRetried(t *testing.T) {
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
		fmt.Fprint(w, "<Error><Code>SlowDown</Code></Error>")
	}))
	defer dead.Close()
	e := setup(t, dead.URL)
	res, out := e.proc.Handle(context.Background(), e.msg(`"action":"initiate","filename":"a","contentType":"text/plain","size":1`), "m")
	if out != queue.Retry || res.Error == nil || !errcode.Retryable(res.Error.Code) {
		t.Fatalf("%+v %v", res, out)
	}
}

func TestCallbackSignature(t *testing.T) {
	got := webhook.Sign([]byte("k"), []byte(`{"a":1}`), time.Unix(1700000000, 0))
	m := hmac.New(sha256.New, []byte("k"))
	m.Write([]byte(`1700000000.{"a":1}`))
	if got != "t=1700000000,v1="+hex.EncodeToString(m.Sum(nil)) {
		t.Fatalf("Sign = %s", got)
	}
}

// A marker directup did not write (here: put straight into the bucket, as client keys
// could before the records folder was reserved) is never answered from: the attacker's
// upload id and part URL never reach the callback.
func TestForgedMarkerIsNotTrusted(t *testing.T) {
	e := setup(t, "")
	ctx := context.Background()
	client, _ := cos.New(cos.Config{Bucket: "local-1250000000", Endpoint: e.storeURL},
		credentials.Static{AccessKeyID: "AKIDq", SecretAccessKey: "queue-secret", SessionToken: "queue-token"}, nil)
	sum := sha256.Sum256([]byte("initiate\x00job-forged"))
	key := "uploads/.directup/requests/" + hex.EncodeToString(sum[:])
	forged := `{"requestId":"job-forged","action":"initiate","status":"ok","initiated":{"uploadId":"fake","token":"v1.fake.sig","parts":[{"partNumber":1,"url":"https://attacker.example/put"}]}}`
	for i, body := range []string{forged, `{"binding":"00","result":` + forged + `,"mac":"00"}`} {
		if i == 1 {
			// The second form: the marker layout with a MAC nobody could compute.
			key = "uploads/.directup/requests/" + hexOf("initiate\x00job-forged-2")
		}
		if created, err := client.PutMarker(ctx, key, []byte(body)); err != nil || !created {
			t.Fatal(err)
		}
		id := []string{"job-forged", "job-forged-2"}[i]
		res, out := e.proc.Handle(ctx, e.msg(`"action":"initiate","requestId":"`+id+`","filename":"a","contentType":"text/plain","size":1`), "m")
		if out != queue.Done || res.Status != "error" || res.Error.Code != errcode.MarkerInvalid || res.Duplicate || res.Initiated != nil {
			t.Fatalf("forged marker %d: %+v %v", i, res, out)
		}
		if cb := e.receiver.last(); cb.Initiated != nil || cb.Error == nil || cb.Error.Code != errcode.MarkerInvalid {
			t.Fatalf("callback after a forged marker: %+v", cb)
		}
	}
	if e.store.Uploads() != 0 {
		t.Fatal("a message answered by a forged marker still created an upload")
	}
}

func hexOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// A requestId reused by another subject, or with other content, is a conflict told to
// that message's own callback, never the first message's result.
func TestRequestIdIsBoundToItsMessage(t *testing.T) {
	e := setup(t, "")
	ctx := context.Background()
	first, _ := e.proc.Handle(ctx, e.msg(`"action":"initiate","requestId":"job-9","subject":"alice","filename":"a.txt","contentType":"text/plain","size":5`), "m1")
	if first.Status != "ok" {
		t.Fatalf("first: %+v", first)
	}
	for name, body := range map[string]string{
		"another subject": `"action":"initiate","requestId":"job-9","subject":"bob","filename":"a.txt","contentType":"text/plain","size":5`,
		"other content":   `"action":"initiate","requestId":"job-9","subject":"alice","filename":"b.txt","contentType":"text/plain","size":5`,
	} {
		res, out := e.proc.Handle(ctx, e.msg(body), "m2")
		if out != queue.Done || res.Status != "error" || res.Error.Code != errcode.RequestConflict || res.Initiated != nil {
			t.Fatalf("%s: %+v %v", name, res, out)
		}
		if cb := e.receiver.last(); cb.Initiated != nil || cb.Error == nil || cb.Error.Code != errcode.RequestConflict {
			t.Fatalf("%s: callback %+v", name, cb)
		}
	}
	again, _ := e.proc.Handle(ctx, e.msg(`"action":"initiate","requestId":"job-9","subject":"alice","filename":"a.txt","contentType":"text/plain","size":5`), "m1")
	if !again.Duplicate || again.Initiated.UploadID != first.Initiated.UploadID {
		t.Fatalf("the true redelivery: %+v", again)
	}
	if e.store.Uploads() != 1 {
		t.Fatalf("%d uploads", e.store.Uploads())
	}
}

// A callback receiver's redirect is never followed: the body (an upload token, part
// URLs) and its signature go nowhere else.
func TestCallbackRedirectIsNotFollowed(t *testing.T) {
	e := setup(t, "")
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	for _, status := range []int{301, 302, 307, 308} {
		redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/stolen", status)
		}))
		body := []byte(`{"callbackUrl":"` + redirect.URL + `/hook","action":"initiate","filename":"a","contentType":"text/plain","size":1}`)
		res, out := e.proc.Handle(context.Background(), body, "m-"+strconv.Itoa(status))
		redirect.Close()
		if out != queue.Done || res.Status != "ok" {
			t.Fatalf("%d: %+v %v", status, res, out)
		}
	}
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("a redirect was followed %d times", n)
	}
}

func TestCallbackAddresses(t *testing.T) {
	open := &queue.Callbacks{Secret: []byte("s")}
	pinned := &queue.Callbacks{Secret: []byte("s"), AllowedHosts: []string{"10.0.0.7"}}
	tests := []struct {
		c   *queue.Callbacks
		url string
		ok  bool
	}{
		{open, "https://hooks.example/x", true},
		{open, "http://127.0.0.1:9/x", true},
		{open, "https://169.254.169.254/latest/meta-data", false},
		{open, "https://[fe80::1]/x", false},
		{open, "https://10.0.0.7/x", false},
		{open, "https://0.0.0.0/x", false},
		{pinned, "https://10.0.0.7/x", true},
		{open, "http://hooks.example/x", false},
	}
	for _, tt := range tests {
		if err := tt.c.Check(tt.url); (err == nil) != tt.ok {
			t.Errorf("Check(%s) = %v, want ok=%v", tt.url, err, tt.ok)
		}
	}
}

// The queue's complete is verified like the API's: HTML declared image/png is refused and
// removed.
func TestCompleteVerifiesContent(t *testing.T) {
	e := setup(t, "")
	ctx := context.Background()
	html := "<html><script>alert(1)</script></html>"
	res, _ := e.proc.Handle(ctx, e.msg(fmt.Sprintf(`"action":"initiate","requestId":"v1","filename":"a.png","contentType":"image/png","size":%d`, len(html))), "m1")
	up := res.Initiated
	etag, err := (&apiclient.Client{}).PutPart(ctx, up.Parts[0], []byte(html), nil)
	if err != nil {
		t.Fatal(err)
	}
	done, _ := e.proc.Handle(ctx, e.msg(fmt.Sprintf(`"action":"complete","requestId":"v2","uploadId":%q,"token":%q,"parts":[{"partNumber":1,"etag":%q}]`, up.UploadID, up.Token, etag)), "m2")
	if done.Status != "error" || done.Error.Code != errcode.ContentMismatch {
		t.Fatalf("complete: %+v", done)
	}
	if _, _, _, _, err := e.store.Object(up.Key); err == nil {
		t.Fatal("the refused object is still in the bucket")
	}
}

// TestCompactPartURLs: a message asking for "partUrls":"compact" gets every part's URL in
// its result and callback (150 parts, past the 100 of a full-form answer), the same on a
// redelivery, and the URLs take parts; another value is refused by field.
func TestCompactPartURLs(t *testing.T) {
	e := setup(t, "")
	ctx := context.Background()
	body := e.msg(`"action":"initiate","requestId":"c-1","filename":"a.bin","contentType":"application/octet-stream","size":157286400,"partSize":1048576,"partUrls":"compact"`)
	res, out := e.proc.Handle(ctx, body, "sqs:c1")
	if out != queue.Done || res.Status != "ok" || res.Initiated.CompactParts == nil || len(res.Initiated.Parts) != 0 {
		t.Fatalf("result %+v", res)
	}
	cb := e.receiver.last()
	c := cb.Initiated.CompactParts
	if c == nil || c.Len() != 150 || len(cb.Initiated.Parts) != 0 {
		t.Fatalf("callback has no compact parts for all 150: %+v", c)
	}
	parts, err := c.Expand()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 149} {
		p := parts[i]
		req, _ := http.NewRequest(p.Method, p.URL, bytes.NewReader(make([]byte, p.Size)))
		for k, v := range p.Headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == "" {
			t.Fatalf("part %d through its compact URL: %d", p.PartNumber, resp.StatusCode)
		}
	}
	again, _ := e.proc.Handle(ctx, body, "sqs:c1-again")
	if !again.Duplicate || again.Initiated.CompactParts == nil {
		t.Fatalf("redelivery: %+v", again)
	}
	if got, err := again.Initiated.CompactParts.Expand(); err != nil || !reflect.DeepEqual(got, parts) {
		t.Fatalf("redelivery's URLs differ: %v", err)
	}
	bad, _ := e.proc.Handle(ctx, e.msg(`"action":"initiate","requestId":"c-2","filename":"a.bin","size":1,"partUrls":"all"`), "sqs:c2")
	if bad.Status != "error" || bad.Error.Code != errcode.InvalidField || bad.Error.Field != "partUrls" {
		t.Fatalf("partUrls \"all\": %+v", bad.Error)
	}
}

// A queue initiate names a profile as the API does; the message's own claims (the queue
// trusts its sender as it does for subject) meet its claims rule.
func TestInitiateUnderAProfile(t *testing.T) {
	profiles, err := policy.ParseProfiles([]byte(`{"video":{"allowedTypes":["video/mp4"],"keyPrefix":"videos/","claims":{"plan":["pro"]}}}`), policy.Default())
	if err != nil {
		t.Fatal(err)
	}
	e := setup(t, "", upload.WithProfiles(profiles))
	ctx := context.Background()
	for _, tt := range []struct {
		name, fields, code string
	}{
		{"the plan", `"action":"initiate","requestId":"p1","profile":"video","claims":{"plan":["pro"]},"filename":"a.mp4","contentType":"video/mp4","size":100`, ""},
		{"no claims", `"action":"initiate","requestId":"p2","profile":"video","filename":"a.mp4","contentType":"video/mp4","size":100`, errcode.PolicyDenied},
		{"the profile's type", `"action":"initiate","requestId":"p3","profile":"video","claims":{"plan":["pro"]},"filename":"a.png","contentType":"image/png","size":100`, errcode.PolicyDenied},
		{"unknown profile", `"action":"initiate","requestId":"p4","profile":"vids","filename":"a.mp4","contentType":"video/mp4","size":100`, errcode.InvalidField},
	} {
		res, out := e.proc.Handle(ctx, e.msg(tt.fields), "m-"+tt.name)
		switch {
		case out != queue.Done:
			t.Errorf("%s: retried", tt.name)
		case tt.code == "" && (res.Status != "ok" || res.Initiated.Profile != "video" || !strings.HasPrefix(res.Initiated.Key, "videos/")):
			t.Errorf("%s: %+v", tt.name, res)
		case tt.code != "" && (res.Error == nil || res.Error.Code != tt.code):
			t.Errorf("%s: %+v, want %s", tt.name, res.Error, tt.code)
		}
	}
}

// A complete message carries the whole object's checksum as the API's complete does: the
// store's must match it, or the object is deleted (checksum_mismatch).
func TestCompleteMessageChecksum(t *testing.T) {
	e := setup(t, "")
	ctx := context.Background()
	for i, tt := range []struct {
		sum  string
		code string
	}{{checksum.ECMA.Format(checksum.ECMA.Checksum([]byte("hello"))), ""}, {"12345", errcode.ChecksumMismatch}} {
		res, _ := e.proc.Handle(ctx, e.msg(fmt.Sprintf(`"action":"initiate","requestId":"c%d","filename":"a.txt","contentType":"text/plain","size":5`, i)), "i")
		up := res.Initiated
		if up.ChecksumAlgorithm != checksum.CRC64ECMA {
			t.Fatalf("initiate result names %q", up.ChecksumAlgorithm)
		}
		etag, err := (&apiclient.Client{}).PutPart(ctx, up.Parts[0], []byte("hello"), nil)
		if err != nil {
			t.Fatal(err)
		}
		done, _ := e.proc.Handle(ctx, e.msg(fmt.Sprintf(`"action":"complete","requestId":"d%d","uploadId":%q,"token":%q,"parts":[{"partNumber":1,"etag":%q}],"checksum":{"crc64ecma":%q}`,
			i, up.UploadID, up.Token, etag, tt.sum)), "c")
		switch {
		case tt.code == "" && (done.Status != "ok" || done.Completed.CRC64 != tt.sum):
			t.Errorf("right checksum: %+v", done)
		case tt.code != "" && (done.Status != "error" || done.Error.Code != tt.code):
			t.Errorf("wrong checksum: %+v", done)
		}
		if _, _, _, _, err := e.store.Object(up.Key); (err == nil) != (tt.code == "") {
			t.Errorf("checksum %s: object kept %v", tt.sum, err == nil)
		}
	}
}

// A queue initiate takes "head" as POST /uploads does: a contradiction is a final
// content_mismatch and no upload is started.
func TestInitiateHeadIsChecked(t *testing.T) {
	e := setup(t, "")
	head := base64.StdEncoding.EncodeToString([]byte("<!doctype html><script>alert(1)</script>"))
	res, out := e.proc.Handle(context.Background(), e.msg(`"action":"initiate","requestId":"h1","filename":"cat.png","contentType":"image/png","size":40,"head":"`+head+`"`), "sqs:h1")
	if out != queue.Done || res.Status != "error" || res.Error.Code != errcode.ContentMismatch || res.Error.Field != "head" {
		t.Fatalf("%+v %v", res.Error, out)
	}
	if e.store.Uploads() != 0 {
		t.Fatal("a refused head started an upload")
	}
}
