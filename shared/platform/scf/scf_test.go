package scf

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/rpc"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func serve(t *testing.T, h Handler) *rpc.Client {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ServeRPC(context.Background(), ln, h)
	t.Cleanup(func() { ln.Close() })
	c, err := rpc.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestInvoke(t *testing.T) {
	var seen struct {
		deadline time.Time
		inv      Invocation
		env      string
	}
	c := serve(t, func(ctx context.Context, payload []byte) ([]byte, error) {
		seen.deadline, _ = ctx.Deadline()
		seen.inv, _ = FromContext(ctx)
		seen.env = os.Getenv("DIRECTUP_TEST_FRESH")
		switch string(payload) {
		case "panic":
			panic("boom")
		case "fail":
			return nil, errors.New("bad event")
		}
		return append([]byte("echo:"), payload...), nil
	})
	dl := time.Unix(1_900_000_000, 123)
	tests := []struct {
		name        string
		payload     string
		env         string
		wantPayload string
		wantError   string
		shouldExit  bool
	}{
		{"answer", "hi", `{"DIRECTUP_TEST_FRESH":"v1"}`, "echo:hi", "", false},
		{"handler error", "fail", "", "", "bad event", false},
		{"panic", "panic", "", "", "boom", true},
		{"bad environment", "hi", "[1]", "", "Environment", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resp InvokeResponse
			err := c.Call("Function.Invoke", &InvokeRequest{Payload: []byte(tt.payload), RequestId: "r-1", FunctionName: "f",
				MemoryLimitInMb: 128, Deadline: InvokeRequest_Timestamp{dl.Unix(), int64(dl.Nanosecond())}, Environment: tt.env}, &resp)
			if err != nil {
				t.Fatal(err)
			}
			if string(resp.Payload) != tt.wantPayload {
				t.Errorf("payload %q, want %q", resp.Payload, tt.wantPayload)
			}
			if tt.wantError == "" {
				if resp.Error != nil {
					t.Fatalf("error %+v", resp.Error)
				}
				if !seen.deadline.Equal(dl) || seen.inv.RequestID != "r-1" || seen.inv.MemoryMB != 128 || seen.env != "v1" {
					t.Errorf("handler saw %+v", seen)
				}
				return
			}
			if resp.Error == nil || !strings.Contains(resp.Error.Message, tt.wantError) || resp.Error.ShouldExit != tt.shouldExit {
				t.Fatalf("error %+v, want %q exit=%v", resp.Error, tt.wantError, tt.shouldExit)
			}
			if tt.shouldExit && (len(resp.Error.StackTrace) == 0 || !strings.Contains(resp.Error.StackTrace[0].Label, "scf")) {
				t.Errorf("panic stack %+v", resp.Error.StackTrace)
			}
		})
	}
	if err := c.Call("Function.Ping", &PingRequest{}, &PingResponse{}); err != nil {
		t.Fatal(err)
	}
	os.Unsetenv("DIRECTUP_TEST_FRESH")
}

func TestHTTPEvents(t *testing.T) {
	type seen struct {
		method, path, query, body, token, remote, reqID string
	}
	var got seen
	h := HTTPHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = seen{r.Method, r.URL.Path, r.URL.RawQuery, string(b), r.Header.Get("X-Upload-Token"), r.RemoteAddr, r.Header.Get("X-Request-Id")}
		if r.URL.Path == "/bin" {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write([]byte{0, 1, 2})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("Vary", "Origin")
		w.Header().Add("Vary", "Accept")
		w.WriteHeader(201)
		w.Write([]byte(`{"ok":true}`))
	}))
	tests := []struct {
		name  string
		event string
		want  seen
	}{
		{"api gateway with stage, query forms, base64 body",
			`{"requestContext":{"stage":"release","requestId":"gw-1","sourceIp":"1.2.3.4","path":"/uploads"},"httpMethod":"POST","path":"/release/uploads",
			  "headers":{"X-Upload-Token":"tok"},"queryString":{"a":"1","b":["x","y"],"flag":true},"body":"` + base64.StdEncoding.EncodeToString([]byte("{}")) + `","isBase64Encoded":true}`,
			seen{"POST", "/uploads", "a=1&b=x&b=y&flag=", "{}", "tok", "1.2.3.4", "gw-1"}},
		{"function url, lowercase headers",
			`{"httpMethod":"GET","path":"/uploads/u1/parts","headers":{"x-upload-token":"t2","x-scf-remote-addr":"5.6.7.8"},"queryString":{},"body":""}`,
			seen{"GET", "/uploads/u1/parts", "", "", "t2", "5.6.7.8", ""}},
		{"stage name inside a path is kept",
			`{"requestContext":{"stage":"release"},"httpMethod":"GET","path":"/releases/x","headers":{}}`,
			seen{"GET", "/releases/x", "", "", "", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := h(context.Background(), []byte(tt.event))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("request %+v, want %+v", got, tt.want)
			}
			var resp HTTPResponse
			if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != 201 || resp.Body != `{"ok":true}` ||
				resp.IsBase64Encoded || resp.Headers["Vary"] != "Origin, Accept" {
				t.Errorf("response %s", out)
			}
		})
	}
	out, _ := h(context.Background(), []byte(`{"httpMethod":"GET","path":"/bin"}`))
	var resp HTTPResponse
	json.Unmarshal(out, &resp)
	if !resp.IsBase64Encoded || resp.Body != "AAEC" || resp.StatusCode != 200 {
		t.Errorf("binary response %s", out)
	}
	if _, err := h(context.Background(), []byte(`{"Records":[]}`)); !errors.Is(err, ErrNotHTTP) {
		t.Errorf("queue event: %v", err)
	}
}

// A body marked base64 that is not is the client's fault: 400, not an invocation error.
func TestBadBase64Body(t *testing.T) {
	h := HTTPHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("the handler must not run") }))
	out, err := h(context.Background(), []byte(`{"httpMethod":"POST","path":"/uploads","isBase64Encoded":true,"body":"%%%"}`))
	if err != nil {
		t.Fatalf("an invocation error: %v", err)
	}
	var resp HTTPResponse
	if json.Unmarshal(out, &resp) != nil || resp.StatusCode != 400 || !strings.Contains(resp.Body, `"code":"invalid_json"`) {
		t.Fatalf("%s", out)
	}
}

// On SIGTERM (ctx's end) the server stops accepting, lets the invoke in flight answer,
// then returns.
func TestServeRPCDrainsOnShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- ServeRPC(ctx, ln, func(context.Context, []byte) ([]byte, error) {
			close(entered)
			<-release
			return []byte(`"done"`), nil
		})
	}()
	c, err := rpc.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	call := c.Go("Function.Invoke", &InvokeRequest{Payload: []byte(`{}`)}, &InvokeResponse{}, nil)
	<-entered
	cancel()
	select {
	case err := <-served:
		t.Fatalf("returned with an invoke in flight: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("still accepting connections after shutdown began")
	}
	close(release)
	<-call.Done
	if call.Error != nil || string(call.Reply.(*InvokeResponse).Payload) != `"done"` {
		t.Fatalf("the invoke in flight: %v %+v", call.Error, call.Reply)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeRPC did not return after the last invoke")
	}
}

// A panic in the custom runtime is reported as the invocation's error, then RunCustom
// returns ErrPanicked (the process exits in main, not in this library); ctx's end stops it
// quietly.
func TestRunCustomPanicAndStop(t *testing.T) {
	var reported []string
	var mu sync.Mutex
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/runtime/invocation/next":
			w.Header().Set("request_id", "req-1")
			w.Write([]byte(`{}`))
		case "/runtime/invocation/error":
			reported = append(reported, string(body))
		}
	}))
	defer api.Close()
	err := RunCustom(context.Background(), api.URL, func(context.Context, []byte) ([]byte, error) { panic("boom") })
	if !errors.Is(err, ErrPanicked) || len(reported) != 1 || !strings.Contains(reported[0], "boom") {
		t.Fatalf("RunCustom = %v, reported %q", err, reported)
	}

	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err = RunCustom(ctx, api.URL, func(context.Context, []byte) ([]byte, error) {
		if calls++; calls == 2 {
			cancel() // SIGTERM while serving
		}
		return []byte(`"ok"`), nil
	})
	if err != nil {
		t.Fatalf("stopped by ctx: %v", err)
	}
}
