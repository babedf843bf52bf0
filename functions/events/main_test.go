package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/directup/directup/shared/cos"
	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/s3"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/storerest"
)

const eventsSecret = "events-secret-0123456789"

var (
	html = "<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"
	png  = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + strings.Repeat("\x07", 100)
)

// receiver is the deployer's events endpoint: it checks every signature and keeps the
// events (deduplicated on id, as receivers do), failing the first `Fail` deliveries.
type receiver struct{ *functest.Receiver }

func newReceiver(t *testing.T) *receiver {
	return &receiver{functest.NewReceiver(t, eventsSecret)}
}

func (r *receiver) byKey() map[string]events.Event {
	byID := map[string]events.Event{}
	for _, body := range r.Accepted() {
		var ev events.Event
		json.Unmarshal(body, &ev)
		byID[ev.ID] = ev
	}
	out := map[string]events.Event{}
	for _, ev := range byID {
		out[ev.Key] = ev
	}
	return out
}

func put(t *testing.T, c *storerest.Client, key, contentType, body string) {
	t.Helper()
	if _, _, err := c.Do(context.Background(), storerest.Call{Method: http.MethodPut, Key: key, Body: []byte(body),
		Header: http.Header{"Content-Type": {contentType}}}); err != nil {
		t.Fatal(err)
	}
}

// check asserts what the function made of the objects: the HTML declared as PNG deleted
// and told as rejected, the PNG told as completed, the rest untouched and untold.
func check(t *testing.T, r *receiver, stat func(key string) storage.ObjectInfo) {
	t.Helper()
	exists := func(key string) bool { return stat(key).Exists }
	got := r.byKey()
	if ev := got["uploads/a/cat.png"]; ev.Type != events.Rejected || ev.DetectedType != "text/html" || ev.Source != "storage" {
		t.Errorf("HTML declared as PNG: %+v", ev)
	}
	if ev := got["uploads/b/real photo.png"]; ev.Type != events.Completed || ev.DetectedType != "image/png" || ev.Size != int64(len(png)) ||
		ev.ID != events.EventID(events.Completed, ev.Bucket, ev.Key, events.ObjectVersion(ev.ETag, stat(ev.Key).LastModified)) {
		t.Errorf("a real PNG: %+v", ev)
	}
	if len(got) != 2 {
		t.Errorf("%d objects told, want 2: %v", len(got), got)
	}
	if exists("uploads/a/cat.png") || !exists("uploads/b/real photo.png") || !exists("uploads/.directup/requests/x") || !exists("other/z.txt") {
		t.Error("only the HTML declared as PNG may be deleted")
	}
}

// Over SCF's Go1 protocol with the COS trigger's event, as Tencent documents its shape,
// against the local store.
func TestCOSTriggerOverGo1(t *testing.T) {
	b := functest.NewBackend(t)
	r := newReceiver(t)
	fn := functest.StartGo1(t, functest.Build(t, "main"), append(b.Env(true), "EVENTS_URL="+r.URL, "EVENTS_SECRET="+eventsSecret))
	c, err := cos.New(cos.Config{Bucket: "local-1250000000", Endpoint: b.URL}, credentials.Static{
		AccessKeyID: functest.StoreCred.SecretID, SecretAccessKey: functest.StoreCred.SecretKey, SessionToken: functest.StoreCred.SessionToken}, nil)
	if err != nil {
		t.Fatal(err)
	}
	objects := map[string][2]string{
		"uploads/a/cat.png":            {"image/png", html},
		"uploads/b/real photo.png":     {"image/png", png},
		"uploads/.directup/requests/x": {"application/json", `{}`},
		"other/z.txt":                  {"text/plain", "hi"},
	}
	var records []map[string]any
	for key, o := range objects {
		put(t, c.Client, key, o[0], o[1])
		records = append(records, map[string]any{
			"cos": map[string]any{"cosSchemaVersion": "1.0",
				"cosObject": map[string]any{"url": b.URL + "/" + key, "meta": map[string]string{"x-cos-request-id": "NWMx", "Content-Type": o[0]},
					"vid": "", "key": "/1250000000/local/" + key, "size": len(o[1])},
				"cosBucket": map[string]any{"region": "gz", "name": "local", "appid": "1250000000"}, "cosNotificationId": "unknown"},
			"event": map[string]any{"eventName": "cos:ObjectCreated:Put", "eventVersion": "1.0", "eventTime": time.Now().Unix(),
				"eventSource": "qcs::cos", "eventQueue": "qcs:0:lambda:gz:appid/1250000000:default.events.$LATEST", "reqid": 179398952},
		})
	}
	event, _ := json.Marshal(map[string]any{"Records": records})
	r.Fail.Store(3) // every attempt of the first invocation fails: it fails, and SCF retries it
	first := fn.Invoke(event, "")
	if first.Error == nil {
		t.Fatal("an undelivered event must fail the invocation, for SCF to retry it")
	}
	if resp := fn.Invoke(event, ""); resp.Error != nil {
		t.Fatalf("the retry: %+v", resp.Error)
	}
	check(t, r, func(key string) storage.ObjectInfo {
		info, err := c.Stat(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		return info
	})
	if resp := fn.Invoke([]byte(`{"Records":[{"CMQ":{"msgBody":"x"}}]}`), ""); resp.Error == nil || !strings.Contains(resp.Error.Message, "COS") {
		t.Errorf("another kind of event: %+v", resp)
	}
}

// Under the Lambda emulator with S3 event notifications shaped like aws-lambda-go's own
// fixture, against versitygw.
func TestS3EventUnderEmulator(t *testing.T) {
	endpoint := functest.Versitygw(t, "events-test")
	r := newReceiver(t)
	env := []string{"S3_BUCKET=events-test", "S3_REGION=us-east-1", "S3_ENDPOINT=" + endpoint, "UPLOAD_TOKEN_SECRET=" + strings.Repeat("k", 32),
		"AWS_ACCESS_KEY_ID=" + functest.S3Creds[0], "AWS_SECRET_ACCESS_KEY=" + functest.S3Creds[1], "EVENTS_URL=" + r.URL, "EVENTS_SECRET=" + eventsSecret}
	fn := functest.StartEmulator(t, functest.Build(t, "bootstrap", "lambda.norpc"), env)
	c, err := s3.New(s3.Config{Bucket: "events-test", Region: "us-east-1", Endpoint: endpoint},
		credentials.Static{AccessKeyID: functest.S3Creds[0], SecretAccessKey: functest.S3Creds[1]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fixture, err := os.ReadFile(filepath.Join(functest.ModuleDir(t, "github.com/aws/aws-lambda-go"), "events", "testdata", "s3-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	var shape struct{ Records []map[string]any }
	json.Unmarshal(fixture, &shape)
	var records []map[string]any
	for key, o := range map[string][2]string{
		"uploads/a/cat.png":            {"image/png", html},
		"uploads/b/real photo.png":     {"image/png", png},
		"uploads/.directup/requests/x": {"application/json", `{}`},
		"other/z.txt":                  {"text/plain", "hi"},
	} {
		put(t, c.Client, key, o[0], o[1])
		var rec map[string]any
		js, _ := json.Marshal(shape.Records[0])
		json.Unmarshal(js, &rec)
		s3rec := rec["s3"].(map[string]any)
		s3rec["bucket"].(map[string]any)["name"] = "events-test"
		obj := s3rec["object"].(map[string]any)
		obj["key"], obj["size"] = strings.ReplaceAll(key, " ", "+"), len(o[1]) // keys arrive form-encoded
		records = append(records, rec)
	}
	var out struct{ ErrorMessage string }
	fn.Invoke(map[string]any{"Records": records}, &out)
	if out.ErrorMessage != "" {
		t.Fatalf("invoke: %s", out.ErrorMessage)
	}
	check(t, r, func(key string) storage.ObjectInfo {
		info, err := c.Stat(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		return info
	})
}
