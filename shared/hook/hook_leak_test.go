package hook_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/directup/directup/shared/apiclient"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/hook"
	"github.com/directup/directup/shared/httpapi"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/upload"
)

// syncBuffer is a log sink written by the API's goroutines and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A token in HOOK_URL's query or userinfo is never logged nor put in an error, whether the
// hook is down, hangs or fails.
func TestHookURLSecretsAreNotLeaked(t *testing.T) {
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
	for name, host := range map[string]string{"closed port": closed, "hangs": hung.Listener.Addr().String(), "answers 500": failing.Listener.Addr().String()} {
		t.Run(name, func(t *testing.T) {
			hookURL := "http://user:pass@" + host + "/hook?token=s3cr3t"
			hk := hook.New(hook.Settings{URL: hookURL, Secret: secret, Timeout: 300 * time.Millisecond})
			var errs []string
			if _, err := hk.Create(context.Background(), &hook.CreateEvent{Type: "upload.create"}); err == nil {
				t.Fatal("the hook answered")
			} else {
				errs = append(errs, err.Error())
			}

			// Through the whole stack: the API logs the hook's failure as the 503's cause.
			backend := functest.NewBackend(t)
			svc, err := upload.NewService(backend.Client(t), policy.Default(), []byte(strings.Repeat("t", 32)), upload.WithHook(hk))
			if err != nil {
				t.Fatal(err)
			}
			var logs syncBuffer
			apiSrv := httptest.NewServer(httpapi.New(svc, httpapi.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))}))
			defer apiSrv.Close()
			_, err = (&apiclient.Client{API: apiSrv.URL}).Initiate(context.Background(), &policy.InitiateRequest{Filename: "a.txt", ContentType: "text/plain", Size: size(5)})
			if a := apiErr(t, err); a.Status != 503 || a.Code != errcode.HookUnavailable {
				t.Fatalf("%d %s, want 503 %s", a.Status, a.Code, errcode.HookUnavailable)
			}
			errs = append(errs, err.Error())
			if !strings.Contains(logs.String(), "upstream or internal failure") {
				t.Fatalf("the failure was not logged: %s", logs.String())
			}
			for _, s := range append(errs, logs.String()) {
				for _, leak := range []string{"s3cr3t", "token", "user:pass", "pass@"} {
					if strings.Contains(s, leak) {
						t.Errorf("%q leaks in %s", leak, s)
					}
				}
			}
		})
	}
}
