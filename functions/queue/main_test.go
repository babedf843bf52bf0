package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/directup/directup/shared/functest"
)

// hooks is a callback receiver; requests whose body names a failing requestId get 500.
type hooks struct {
	mu      sync.Mutex
	failing map[string]bool
	got     []map[string]any
	srv     *httptest.Server
}

func newHooks(t *testing.T) *hooks {
	h := &hooks{failing: map[string]bool{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var res map[string]any
		json.Unmarshal(body, &res)
		h.mu.Lock()
		defer h.mu.Unlock()
		if r.Header.Get("X-Directup-Signature") == "" {
			t.Errorf("unsigned callback")
		}
		if h.failing[res["requestId"].(string)] {
			w.WriteHeader(500)
			return
		}
		h.got = append(h.got, res)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hooks) setFailing(id string, fail bool) {
	h.mu.Lock()
	h.failing[id] = fail
	h.mu.Unlock()
}

func message(h *hooks, requestID, filename string) string {
	m := map[string]any{"action": "initiate", "filename": filename, "contentType": "application/octet-stream", "size": 12345, "callbackUrl": h.srv.URL + "/done"}
	if requestID != "" {
		m["requestId"] = requestID
	}
	js, _ := json.Marshal(m)
	return string(js)
}

func env(b *functest.Backend, creds bool) []string {
	return append(b.Env(creds), "QUEUE_CALLBACK_SECRET=hook-secret-0123456789")
}

// TestSQSUnderEmulator feeds SQS batches through the real Lambda runtime protocol: only
// the message whose callback could not be delivered comes back in batchItemFailures.
func TestSQSUnderEmulator(t *testing.T) {
	b := functest.NewBackend(t)
	h := newHooks(t)
	fn := functest.StartEmulator(t, functest.Build(t, "bootstrap", "lambda.norpc"), env(b, true))
	h.setFailing("job-b", true)
	record := func(id, body string) map[string]any {
		return map[string]any{"messageId": id, "receiptHandle": "rh-" + id, "body": body, "eventSource": "aws:sqs",
			"eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:directup", "awsRegion": "us-east-1", "attributes": map[string]string{"ApproximateReceiveCount": "1"}}
	}
	batch := map[string]any{"Records": []any{
		record("m-a", message(h, "job-a", "a.bin")),
		record("m-poison", `{"action":`),
		record("m-b", message(h, "job-b", "b.bin")),
		record("m-a-again", message(h, "job-a", "a.bin")),
		record("m-noid", message(h, "", "c.bin")),
	}}
	var resp struct {
		BatchItemFailures []struct{ ItemIdentifier string } `json:"batchItemFailures"`
	}
	fn.Invoke(batch, &resp)
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m-b" {
		t.Fatalf("batchItemFailures %+v, want only m-b", resp.BatchItemFailures)
	}
	if n := b.Store.Uploads(); n != 3 {
		t.Fatalf("%d uploads, want 3 (a once, b, the message without requestId)", n)
	}

	// SQS delivers m-b again; the receiver is back.
	h.setFailing("job-b", false)
	fn.Invoke(map[string]any{"Records": []any{record("m-b", message(h, "job-b", "b.bin"))}}, &resp)
	if len(resp.BatchItemFailures) != 0 || b.Store.Uploads() != 3 {
		t.Fatalf("redelivery: %+v, %d uploads", resp.BatchItemFailures, b.Store.Uploads())
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	last := h.got[len(h.got)-1]
	if last["requestId"] != "job-b" || last["duplicate"] != true || last["status"] != "ok" {
		t.Fatalf("callback after redelivery: %v", last)
	}
}

// TestSCFQueueTriggers drives CMQ (queue and topic) and CKafka events through the Go1
// protocol. Credentials arrive only through each invoke's Environment.
func TestSCFQueueTriggers(t *testing.T) {
	b := functest.NewBackend(t)
	h := newHooks(t)
	fn := functest.StartGo1(t, functest.Build(t, "main"), env(b, false))
	creds, _ := json.Marshal(map[string]string{"TENCENTCLOUD_SECRETID": functest.StoreCred.SecretID,
		"TENCENTCLOUD_SECRETKEY": functest.StoreCred.SecretKey, "TENCENTCLOUD_SESSIONTOKEN": functest.StoreCred.SessionToken})
	cmq := func(msgs ...[2]string) []byte {
		var recs []any
		for _, m := range msgs {
			recs = append(recs, map[string]any{"CMQ": map[string]any{"type": "topic", "topicOwner": 1250000000, "topicName": "uploads",
				"subscriptionName": "directup", "publishTime": "2026-11-25T10:00:00Z", "msgId": m[0], "requestId": "r", "msgBody": m[1], "msgTag": []string{"a", "b"}}})
		}
		js, _ := json.Marshal(map[string]any{"Records": recs})
		return js
	}
	resp := fn.Invoke(cmq([2]string{"cmq-1", message(h, "", "one.bin")}, [2]string{"cmq-2", "not json"}), string(creds))
	if resp.Error != nil || string(resp.Payload) != `{"processed":2}` {
		t.Fatalf("CMQ batch: %s %+v", resp.Payload, resp.Error)
	}
	// The same CMQ message again (at-least-once): answered from its marker, no new upload.
	resp = fn.Invoke(cmq([2]string{"cmq-1", message(h, "", "one.bin")}), string(creds))
	if resp.Error != nil || b.Store.Uploads() != 1 {
		t.Fatalf("CMQ redelivery: %+v, %d uploads", resp.Error, b.Store.Uploads())
	}

	kafka := func(offset int, body string) []byte {
		js, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{"Ckafka": map[string]any{
			"topic": "uploads", "partition": 0, "offset": offset, "msgKey": "k", "msgBody": body}}}})
		return js
	}
	h.setFailing("kafka-job", true)
	resp = fn.Invoke(kafka(7, message(h, "kafka-job", "k.bin")), string(creds))
	if resp.Error == nil || resp.Error.ShouldExit || !strings.Contains(resp.Error.Message, "ckafka:uploads:0:7") {
		t.Fatalf("an undelivered callback must fail the invocation so SCF retries: %+v", resp.Error)
	}
	h.setFailing("kafka-job", false)
	resp = fn.Invoke(kafka(7, message(h, "kafka-job", "k.bin")), string(creds))
	if resp.Error != nil || b.Store.Uploads() != 2 {
		t.Fatalf("CKafka retry: %+v, %d uploads", resp.Error, b.Store.Uploads())
	}
	if resp := fn.Invoke([]byte(`{"httpMethod":"GET","path":"/"}`), ""); resp.Error == nil {
		t.Error("an HTTP event must be refused by the queue function")
	}
}

func TestRefusesToRunOutsideAPlatform(t *testing.T) {
	b := functest.NewBackend(t)
	cmd := exec.Command(functest.Build(t, "queue"))
	cmd.Env = append(functest.BaseEnv(), env(b, true)...)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "SCF") {
		t.Fatalf("%v %s", err, out)
	}
}
