package storerest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/wire"
)

type failingCreds struct{ err error }

func (f failingCreds) Retrieve(context.Context) (credentials.Value, error) {
	return credentials.Value{}, f.err
}

// Failures are named for what failed: obtaining credentials, or signing the request.
func TestErrorsNameWhatFailed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	dialect := func(sign func(*http.Request, *Call, credentials.Value, time.Time) error) Dialect {
		return Dialect{Name: "COS", URL: func(key string, q url.Values) string { return srv.URL + "/" + key }, Sign: sign}
	}
	okSign := func(*http.Request, *Call, credentials.Value, time.Time) error { return nil }
	badSign := func(*http.Request, *Call, credentials.Value, time.Time) error { return errors.New("no signer") }
	tests := []struct {
		name   string
		client *Client
		status int
		code   string
	}{
		{"credentials fail", New(dialect(okSign), failingCreds{errors.New("sts down")}, nil), http.StatusBadGateway, errcode.CredentialsFailed},
		{"no credentials", New(dialect(okSign), failingCreds{credentials.ErrMissing}, nil), http.StatusServiceUnavailable, errcode.CredentialsFailed},
		{"signing fails", New(dialect(badSign), credentials.Static{AccessKeyID: "a", SecretAccessKey: "b"}, nil), http.StatusInternalServerError, errcode.Internal},
	}
	for _, tt := range tests {
		err := tt.client.Abort(context.Background(), "k", "u")
		if e := errcode.As(err); e.Code != tt.code {
			t.Errorf("%s: %v, want %d %s", tt.name, err, tt.status, tt.code)
		}
		if _, err := tt.client.Credentials(context.Background()); tt.code == errcode.CredentialsFailed && errcode.As(err).Code != tt.code {
			t.Errorf("%s: Credentials = %v", tt.name, err)
		}
	}
}

// newTestClient is a client of a dialect that only addresses the server (no signature):
// what is tested here is how the shared client sends, retries and maps answers.
func newTestClient(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := New(Dialect{Name: "COS", RequestIDHeader: "x-cos-request-id", CRCHeader: "x-cos-hash-crc64ecma",
		URL:  func(key string, q url.Values) string { return srv.URL + "/" + key + "?" + q.Encode() },
		Sign: func(*http.Request, *Call, credentials.Value, time.Time) error { return nil },
	}, credentials.Static{AccessKeyID: "a", SecretAccessKey: "b"}, srv.Client())
	c.BaseDelay, c.MaxDelay = time.Millisecond, 5*time.Millisecond
	return c
}

func errorAnswer(w http.ResponseWriter, status int, code string) {
	w.Header().Set("x-cos-request-id", "REQ-"+code)
	w.WriteHeader(status)
	fmt.Fprintf(w, "<Error><Code>%s</Code><Message>m</Message><RequestId>REQ-%s</RequestId></Error>", code, code)
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name       string
		fail       int // answers that fail before a success (-1: always)
		answer     func(w http.ResponseWriter)
		wantCalls  int32
		wantStatus int
		wantCode   string
	}{
		{"503 SlowDown then success", 2, func(w http.ResponseWriter) { errorAnswer(w, 503, "SlowDown") }, 3, 0, ""},
		{"500 then success", 1, func(w http.ResponseWriter) { errorAnswer(w, 500, "InternalError") }, 2, 0, ""},
		{"500 forever", -1, func(w http.ResponseWriter) { errorAnswer(w, 500, "InternalError") }, 4, 502, errcode.UpstreamError},
		{"SlowDown forever", -1, func(w http.ResponseWriter) { errorAnswer(w, 503, "SlowDown") }, 4, 503, errcode.UpstreamBusy},
		{"access denied is not retried", -1, func(w http.ResponseWriter) { errorAnswer(w, 403, "AccessDenied") }, 1, 502, errcode.UpstreamDenied},
		{"no such upload", -1, func(w http.ResponseWriter) { errorAnswer(w, 404, "NoSuchUpload") }, 1, 404, errcode.UploadNotFound},
		{"200 with Error, then success", 1, func(w http.ResponseWriter) {
			w.WriteHeader(200)
			fmt.Fprint(w, "   \n<?xml version=\"1.0\"?>\n<Error><Code>InternalError</Code><RequestId>REQ-200</RequestId></Error>")
		}, 2, 0, ""},
		{"200 with Error forever", -1, func(w http.ResponseWriter) {
			w.WriteHeader(200)
			fmt.Fprint(w, "\n\n<Error><Code>InvalidPart</Code><RequestId>REQ-200</RequestId></Error>")
		}, 1, 409, errcode.InvalidPart},
		{"expired credentials, then fresh ones", 1, func(w http.ResponseWriter) { errorAnswer(w, 400, "ExpiredToken") }, 2, 0, ""},
		{"expired credentials forever", -1, func(w http.ResponseWriter) { errorAnswer(w, 400, "ExpiredToken") }, 4, 503, errcode.CredentialsFailed},
		// S3's answer to a conditional write racing another (the shared client serves both).
		{"409 ConditionalRequestConflict then success", 1, func(w http.ResponseWriter) { errorAnswer(w, 409, "ConditionalRequestConflict") }, 2, 0, ""},
		{"412 PreconditionFailed: the object exists", -1, func(w http.ResponseWriter) { errorAnswer(w, 412, "PreconditionFailed") }, 1, 409, errcode.ObjectExists},
		{"malformed XML", -1, func(w http.ResponseWriter) { fmt.Fprint(w, "<CompleteMultipartUploadResult><ETag>") }, 1, 502, errcode.UpstreamError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				n := calls.Add(1)
				if tt.fail < 0 || int(n) <= tt.fail {
					tt.answer(w)
					return
				}
				w.Header().Set("x-cos-hash-crc64ecma", "1")
				fmt.Fprint(w, "<CompleteMultipartUploadResult><ETag>\"e\"</ETag></CompleteMultipartUploadResult>")
			})
			_, err := c.Complete(context.Background(), "k", "u", []wire.CompletedPart{{PartNumber: 1, ETag: `"a"`}}, storage.CompleteOptions{})
			if calls.Load() != tt.wantCalls {
				t.Errorf("calls = %d, want %d", calls.Load(), tt.wantCalls)
			}
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			var e *errcode.Error
			if !errors.As(err, &e) || e.Code != tt.wantCode {
				t.Fatalf("err = %v, want %d %s", err, tt.wantStatus, tt.wantCode)
			}
			if e.UpstreamRequestID == "" && tt.wantCode != errcode.UpstreamError {
				t.Errorf("the COS request id is lost: %v", err)
			}
		})
	}
}

func TestDeadlineIsHonoured(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.Abort(ctx, "k", "u")
	var e *errcode.Error
	if !errors.As(err, &e) || e.Code != errcode.UpstreamTimeout {
		t.Fatalf("err = %v, want 504 upstream_timeout", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("took %v past a 300ms deadline", time.Since(start))
	}
}

// TestSlowBody: COS sends its headers, then trickles the body; the call must end at the
// caller's deadline, not when the body does.
func TestSlowBody(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		for i := 0; i < 100; i++ {
			if _, err := w.Write([]byte(" ")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Complete(ctx, "k", "u", []wire.CompletedPart{{PartNumber: 1, ETag: `"a"`}}, storage.CompleteOptions{})
	var e *errcode.Error
	if !errors.As(err, &e) || e.Code != errcode.UpstreamTimeout {
		t.Fatalf("err = %v, want 504", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("took %v past a 400ms deadline", time.Since(start))
	}
}

func TestConnectionResetIsRetried(t *testing.T) {
	var calls atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	if err := c.Abort(context.Background(), "k", "u"); err != nil || calls.Load() != 2 {
		t.Fatalf("err %v after %d calls", err, calls.Load())
	}
}
