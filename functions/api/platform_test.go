package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/directup/directup/shared/apiclient"
	"github.com/directup/directup/shared/cos/cossign"
	"github.com/directup/directup/shared/localcos"
	"github.com/directup/directup/shared/upload"
)

// These tests run the built function under the real protocols: the AWS Lambda Runtime
// Interface Emulator, SCF's Go1 net/rpc protocol and SCF's custom runtime API, each
// against a local COS store.

var storeCred = cossign.Credentials{SecretID: "AKIDfunction", SecretKey: "function-secret", SessionToken: "function-token"}

type backend struct {
	store *localcos.Server
	url   string
}

func newBackend(t *testing.T) *backend {
	s, err := localcos.New(t.TempDir(), "local-1250000000", storeCred)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &backend{store: s, url: srv.URL}
}

// env is the function's configuration; withCreds adds the role credentials SCF would set.
func (b *backend) env(withCreds bool) []string {
	e := []string{"COS_BUCKET=local-1250000000", "COS_ENDPOINT=" + b.url, "UPLOAD_TOKEN_SECRET=" + strings.Repeat("k", 32), "COS_REGION="}
	if withCreds {
		e = append(e, "TENCENTCLOUD_SECRETID="+storeCred.SecretID, "TENCENTCLOUD_SECRETKEY="+storeCred.SecretKey, "TENCENTCLOUD_SESSIONTOKEN="+storeCred.SessionToken)
	}
	return e
}

// baseEnv is the test process's environment without anything the function reads.
func baseEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "COS_") || strings.HasPrefix(k, "UPLOAD_") || strings.HasPrefix(k, "TENCENTCLOUD_") ||
			strings.HasPrefix(k, "AWS_LAMBDA") || k == "_LAMBDA_SERVER_PORT" || strings.HasPrefix(k, "SCF_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func buildFunction(t *testing.T, name string, tags ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	args := []string{"build", "-o", bin}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func start(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("process output:\n%s", logs.String())
		}
	})
}

// httpEvent answers are the integrated responses both platforms use.
type httpAnswer struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}

// uploadFlow drives initiate -> part PUTs -> list -> complete through invoke, which
// sends one HTTP event (built by mk) and returns the integrated response.
func uploadFlow(t *testing.T, b *backend, invoke func(method, path, token, body string) httpAnswer) {
	t.Helper()
	data := make([]byte, 2<<20+99)
	rand.Read(data)
	ans := invoke("POST", "/uploads", "", fmt.Sprintf(`{"filename":"clip.bin","contentType":"application/octet-stream","size":%d,"partSize":1048576}`, len(data)))
	if ans.StatusCode != 201 {
		t.Fatalf("initiate: %+v", ans)
	}
	var up upload.Initiated
	if err := json.Unmarshal([]byte(ans.Body), &up); err != nil || up.PartCount != 3 {
		t.Fatalf("initiate body %s: %v", ans.Body, err)
	}
	c := &apiclient.Client{}
	var parts []upload.CompletedPart
	for _, p := range up.Parts {
		off := int64(p.PartNumber-1) * up.PartSize
		etag, err := c.PutPart(context.Background(), p, data[off:off+p.Size], nil)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, upload.CompletedPart{PartNumber: p.PartNumber, ETag: etag})
	}
	ans = invoke("GET", "/uploads/"+up.UploadID+"/parts", up.Token, "")
	if ans.StatusCode != 200 || strings.Count(ans.Body, `"partNumber"`) != 3 {
		t.Fatalf("list: %+v", ans)
	}
	js, _ := json.Marshal(map[string]any{"parts": parts})
	ans = invoke("POST", "/uploads/"+up.UploadID+"/complete", up.Token, string(js))
	if ans.StatusCode != 200 || !strings.Contains(ans.Body, fmt.Sprintf(`"size":%d`, len(data))) {
		t.Fatalf("complete: %+v", ans)
	}
	got, err := os.ReadFile(b.store.ObjectPath(up.Key))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("stored object differs (%v)", err)
	}
	ans = invoke("POST", "/uploads", "", `{"filename":"a","contentType":"text/plain","size":1,"acl":"public-read"}`)
	if ans.StatusCode != 403 || !strings.Contains(ans.Body, `"code":"policy_denied"`) || !strings.Contains(ans.Body, `"field":"acl"`) {
		t.Fatalf("policy error: %+v", ans)
	}
}

func rie(t *testing.T) string {
	if p := os.Getenv("RIE_BIN"); p != "" {
		return p
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("aws-lambda-rie is not installed; .ci/run installs it")
	}
	t.Skip("aws-lambda-rie not installed (go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d)")
	return ""
}

// TestLambdaUnderEmulator runs the lambda.norpc build under the real Runtime Interface
// Emulator and sends API Gateway REST (v1) and HTTP API / Function URL (v2) events.
func TestLambdaUnderEmulator(t *testing.T) {
	emulator := rie(t)
	b := newBackend(t)
	bin := buildFunction(t, "bootstrap", "lambda.norpc")
	apiPort, runtimePort := freePort(t), freePort(t)
	cmd := exec.Command(emulator, "--runtime-interface-emulator-address", "127.0.0.1:"+apiPort,
		"--runtime-api-address", "127.0.0.1:"+runtimePort, bin)
	cmd.Env = append(baseEnv(), b.env(true)...)
	start(t, cmd)
	invokeURL := "http://127.0.0.1:" + apiPort + "/2015-03-31/functions/function/invocations"
	raw := func(event any) httpAnswer {
		js, _ := json.Marshal(event)
		var ans httpAnswer
		deadline := time.Now().Add(15 * time.Second)
		for {
			// The emulator serves one invoke at a time: calls here are strictly serial.
			resp, err := http.Post(invokeURL, "application/json", bytes.NewReader(js))
			if err != nil {
				if time.Now().Before(deadline) {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err := json.Unmarshal(body, &ans); err != nil {
				t.Fatalf("emulator answered %d %s", resp.StatusCode, body)
			}
			return ans
		}
	}
	v1 := func(method, path, token, body string) httpAnswer {
		h := map[string]string{"Content-Type": "application/json"}
		if token != "" {
			h["X-Upload-Token"] = token
		}
		return raw(map[string]any{"httpMethod": method, "path": path, "resource": "/{proxy+}", "headers": h, "body": body,
			"isBase64Encoded": false, "requestContext": map[string]any{"stage": "prod", "requestId": "req-v1", "httpMethod": method}})
	}
	v2 := func(stage string) func(method, path, token, body string) httpAnswer {
		return func(method, path, token, body string) httpAnswer {
			h := map[string]string{"content-type": "application/json"}
			if token != "" {
				h["x-upload-token"] = token
			}
			full := path
			if stage != "$default" {
				full = "/" + stage + path
			}
			return raw(map[string]any{"version": "2.0", "routeKey": "$default", "rawPath": full, "headers": h, "body": body,
				"isBase64Encoded": false, "requestContext": map[string]any{"stage": stage, "requestId": "req-v2",
					"http": map[string]any{"method": method, "path": full, "sourceIp": "203.0.113.9"}}})
		}
	}
	t.Run("REST API v1", func(t *testing.T) { uploadFlow(t, b, v1) })
	t.Run("HTTP API v2 with a stage", func(t *testing.T) { uploadFlow(t, b, v2("prod")) })
	t.Run("Function URL v2", func(t *testing.T) { uploadFlow(t, b, v2("$default")) })
}

// Client-side copies of the Go1 runtime's messages, declared apart from the server's
// types: gob matches by field name, as the real runtime's encoder does.
type wireTimestamp struct{ Seconds, Nanos int64 }
type wireInvokeRequest struct {
	Payload                            []byte
	RequestId, TraceId                 string
	Deadline                           wireTimestamp
	InvokedFunctionUnique              string
	ClientContext                      []byte
	Namespace, FunctionName            string
	FunctionVersion                    string
	MemoryLimitInMb, TimeLimitInMs     int32
	Environment, TencentcloudRegion    string
	TencentcloudAppID, TencentcloudUin string
	FunctionTrace                      string
}
type wireFrame struct {
	Path  string
	Line  int32
	Label string
}
type wireError struct {
	Message, Type string
	StackTrace    []*wireFrame
	ShouldExit    bool
}
type wireInvokeResponse struct {
	Payload []byte
	Error   *wireError
}

// TestSCFGo1 runs the binary as SCF's Go1 runtime would and drives it over net/rpc.
// The process starts without credentials: they arrive in each invoke's Environment.
func TestSCFGo1(t *testing.T) {
	b := newBackend(t)
	bin := buildFunction(t, "main")
	port := freePort(t)
	cmd := exec.Command(bin)
	cmd.Env = append(baseEnv(), append(b.env(false), "_LAMBDA_SERVER_PORT="+port, "TENCENTCLOUD_RUNENV=SCF")...)
	start(t, cmd)
	var client *rpc.Client
	for deadline := time.Now().Add(15 * time.Second); ; {
		c, err := rpc.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			client = c
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer client.Close()
	if err := client.Call("Function.Ping", &struct{}{}, &struct{}{}); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	creds, _ := json.Marshal(map[string]string{"TENCENTCLOUD_SECRETID": storeCred.SecretID,
		"TENCENTCLOUD_SECRETKEY": storeCred.SecretKey, "TENCENTCLOUD_SESSIONTOKEN": storeCred.SessionToken})
	call := func(payload []byte, env string) wireInvokeResponse {
		dl := time.Now().Add(10 * time.Second)
		req := &wireInvokeRequest{Payload: payload, RequestId: "scf-req-1", Deadline: wireTimestamp{dl.Unix(), int64(dl.Nanosecond())},
			FunctionName: "directup-api", Namespace: "default", MemoryLimitInMb: 128, TimeLimitInMs: 10000, Environment: env}
		var resp wireInvokeResponse
		if err := client.Call("Function.Invoke", req, &resp); err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		return resp
	}
	invoke := func(method, path, token, body string) httpAnswer {
		h := map[string]string{"content-type": "application/json"}
		if token != "" {
			h["x-upload-token"] = token
		}
		ev, _ := json.Marshal(map[string]any{"httpMethod": method, "path": "/release" + path, "headers": h, "body": body,
			"queryString": map[string]any{}, "isBase64Encoded": false,
			"requestContext": map[string]any{"stage": "release", "requestId": "apigw-1", "sourceIp": "203.0.113.7"}})
		resp := call(ev, string(creds))
		if resp.Error != nil {
			t.Fatalf("invoke error: %+v", resp.Error)
		}
		var ans httpAnswer
		if err := json.Unmarshal(resp.Payload, &ans); err != nil {
			t.Fatalf("payload %s", resp.Payload)
		}
		return ans
	}
	uploadFlow(t, b, invoke)

	// Errors of the invocation itself come back as the protocol's Error.
	resp := call([]byte(`{"Records":[]}`), "")
	if resp.Error == nil || resp.Error.ShouldExit || !strings.Contains(resp.Error.Message, "not an API Gateway") {
		t.Errorf("non-HTTP event: %+v", resp)
	}
	resp = call([]byte(`{"httpMethod":"GET","path":"/healthz"}`), "{not json")
	if resp.Error == nil || !strings.Contains(resp.Error.Message, "Environment") {
		t.Errorf("bad Environment: %+v", resp)
	}
}

// TestSCFCustomRuntime runs the binary against a custom runtime API served by the test.
func TestSCFCustomRuntime(t *testing.T) {
	b := newBackend(t)
	bin := buildFunction(t, "bootstrap")
	events := make(chan []byte)
	answers := make(chan string)
	ready := make(chan struct{}, 1)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/runtime/init/ready":
			ready <- struct{}{}
		case "/runtime/invocation/next":
			ev := <-events
			w.Header().Set("request_id", "custom-1")
			w.Header().Set("time_limit_in_ms", "10000")
			w.Header().Set("memory_limit_in_mb", "128")
			w.Write(ev)
		case "/runtime/invocation/response":
			answers <- "ok " + string(body)
		case "/runtime/invocation/error":
			answers <- "error " + string(body)
		}
	}))
	defer api.Close()
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(api.URL, "http://"))
	cmd := exec.Command(bin)
	cmd.Env = append(baseEnv(), append(b.env(true), "SCF_RUNTIME_API="+host, "SCF_RUNTIME_API_PORT="+port, "TENCENTCLOUD_RUNENV=SCF")...)
	start(t, cmd)
	select {
	case <-ready:
	case <-time.After(15 * time.Second):
		t.Fatal("the function never announced readiness")
	}
	invoke := func(method, path, token, body string) httpAnswer {
		h := map[string]string{"content-type": "application/json"}
		if token != "" {
			h["x-upload-token"] = token
		}
		ev, _ := json.Marshal(map[string]any{"httpMethod": method, "path": path, "headers": h, "body": body})
		events <- ev
		a := <-answers
		var ans httpAnswer
		if !strings.HasPrefix(a, "ok ") || json.Unmarshal([]byte(a[3:]), &ans) != nil {
			t.Fatalf("answer %s", a)
		}
		return ans
	}
	uploadFlow(t, b, invoke)
	events <- []byte(`not json`)
	if a := <-answers; !strings.HasPrefix(a, "error ") {
		t.Errorf("bad event answered %q", a)
	}
}

// TestSCFWebFunction runs the binary as scf_bootstrap does (plain HTTP) and uploads
// through it; without COS_BUCKET a function must refuse to start rather than go local.
func TestSCFWebFunction(t *testing.T) {
	b := newBackend(t)
	bin := buildFunction(t, "main")
	port := freePort(t)
	cmd := exec.Command(bin)
	cmd.Env = append(baseEnv(), append(b.env(true), "TENCENTCLOUD_RUNENV=SCF", "HOST=127.0.0.1", "PORT="+port)...)
	start(t, cmd)
	api := &apiclient.Client{API: "http://127.0.0.1:" + port}
	data := make([]byte, 1500)
	rand.Read(data)
	size := int64(len(data))
	var err error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var done *upload.Completed
		if _, done, err = api.Upload(context.Background(), &upload.InitiateRequest{Filename: "w.bin", ContentType: "application/octet-stream", Size: &size}, bytes.NewReader(data), nil); err == nil {
			if done.Size != size {
				t.Fatalf("completed %+v", done)
			}
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}

	refuse := exec.Command(bin)
	refuse.Env = append(baseEnv(), "TENCENTCLOUD_RUNENV=SCF", "PORT="+freePort(t))
	out, err := refuse.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "COS_BUCKET") {
		t.Fatalf("a function without COS_BUCKET started: %v %s", err, out)
	}
}
