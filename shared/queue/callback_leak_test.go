package queue_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/queue"
	"github.com/directup/directup/shared/upload"
)

// A token in a callbackUrl's query or userinfo is never logged nor returned when the
// callback cannot be delivered (the receiver is down, hangs or fails).
func TestCallbackURLSecretsAreNotLeaked(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().String()
	l.Close()
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer hung.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer failing.Close()
	backend := functest.NewBackend(t)
	client := backend.Client(t)
	svc, err := upload.NewService(client, policy.Default(), []byte(strings.Repeat("t", 32)))
	if err != nil {
		t.Fatal(err)
	}
	for name, host := range map[string]string{"closed port": closed, "hangs": hung.Listener.Addr().String(), "answers 500": failing.Listener.Addr().String()} {
		t.Run(name, func(t *testing.T) {
			callbackURL := "http://user:pass@" + host + "/cb?token=s3cr3t"
			cb := &queue.Callbacks{Secret: []byte(callbackSecret), Attempts: 2}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			var texts []string
			if err := cb.Send(ctx, callbackURL, &queue.Result{RequestID: "r"}); err == nil {
				t.Fatal("delivered")
			} else {
				texts = append(texts, err.Error())
			}

			var logs bytes.Buffer
			proc := queue.New(svc, svc.Records(), cb, slog.New(slog.NewJSONHandler(&logs, nil)))
			msg, _ := json.Marshal(map[string]any{"callbackUrl": callbackURL, "action": "initiate", "requestId": "leak-" + name, "filename": "a", "contentType": "text/plain", "size": 1})
			ctx, cancel = context.WithTimeout(context.Background(), 3*time.Second) // the hung receiver holds the callback until then
			defer cancel()
			res, out := proc.Handle(ctx, msg, "m")
			if out != queue.Retry || !strings.Contains(logs.String(), `"callback":"failed: `) {
				t.Fatalf("%v, %+v, log %s: want a failed callback, retried", out, res, logs.String())
			}
			b, _ := json.Marshal(res)
			texts = append(texts, logs.String(), string(b))
			for _, s := range texts {
				// The result carries an upload token and part URLs of its own: the URL's
				// forms are looked for.
				for _, leak := range []string{"s3cr3t", "?token", "user:", "pass@"} {
					if strings.Contains(s, leak) {
						t.Errorf("%q leaks in %s", leak, s)
					}
				}
			}
		})
	}
}

// A callbackUrl the policy refuses (a metadata address) is logged without its query or
// userinfo.
func TestRefusedCallbackURLIsRedacted(t *testing.T) {
	backend := functest.NewBackend(t)
	client := backend.Client(t)
	svc, err := upload.NewService(client, policy.Default(), []byte(strings.Repeat("t", 32)))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	proc := queue.New(svc, svc.Records(), &queue.Callbacks{Secret: []byte(callbackSecret)}, slog.New(slog.NewJSONHandler(&logs, nil)))
	msg, _ := json.Marshal(map[string]any{"callbackUrl": "https://user:pass@169.254.169.254/x?token=s3cr3t", "action": "initiate",
		"requestId": "refused", "filename": "a", "contentType": "text/plain", "size": 1})
	res, _ := proc.Handle(context.Background(), msg, "m")
	if res.Error == nil || !strings.Contains(logs.String(), "refused callback") {
		t.Fatalf("%+v %s", res, logs.String())
	}
	for _, leak := range []string{"s3cr3t", "?token", "user:", "pass@"} {
		if strings.Contains(logs.String(), leak) {
			t.Errorf("%q leaks in %s", leak, logs.String())
		}
	}
}
