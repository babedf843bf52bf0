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
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/directup/directup/shared/apiclient"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

// These tests run the built function under the real protocols: the AWS Lambda Runtime
// Interface Emulator, SCF's Go1 net/rpc protocol and SCF's custom runtime API, each
// against a local COS store.

// httpEvent answers are the integrated responses both platforms use.
type httpAnswer struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}

// uploadFlow drives initiate -> part PUTs -> list -> complete through invoke, which
// sends one HTTP event (built by mk) and returns the integrated response.
func uploadFlow(t *testing.T, b *functest.Backend, invoke func(method, path, token, body string) httpAnswer) {
	t.Helper()
	uploadFlowTo(t, 1<<20, func(key string) []byte { got, _ := os.ReadFile(b.Store.ObjectPath(key)); return got }, invoke)
}

// uploadFlowTo is uploadFlow with any storage: stored returns an object's bytes.
func uploadFlowTo(t *testing.T, partSize int, stored func(key string) []byte, invoke func(method, path, token, body string) httpAnswer) {
	t.Helper()
	data := make([]byte, 2*partSize+99)
	rand.Read(data)
	ans := invoke("POST", "/uploads", "", fmt.Sprintf(`{"filename":"clip.bin","contentType":"application/octet-stream","size":%d,"partSize":%d}`, len(data), partSize))
	if ans.StatusCode != 201 {
		t.Fatalf("initiate: %+v", ans)
	}
	var up upload.Initiated
	if err := json.Unmarshal([]byte(ans.Body), &up); err != nil || up.PartCount != 3 {
		t.Fatalf("initiate body %s: %v", ans.Body, err)
	}
	c := &apiclient.Client{}
	var parts []wire.CompletedPart
	for _, p := range up.Parts {
		off := int64(p.PartNumber-1) * up.PartSize
		etag, err := c.PutPart(context.Background(), p, data[off:off+p.Size], nil)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, wire.CompletedPart{PartNumber: p.PartNumber, ETag: etag})
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
	if got := stored(up.Key); !bytes.Equal(got, data) {
		t.Fatalf("stored object differs (%d bytes)", len(got))
	}
	ans = invoke("POST", "/uploads", "", `{"filename":"a","contentType":"text/plain","size":1,"acl":"public-read"}`)
	if ans.StatusCode != 403 || !strings.Contains(ans.Body, `"code":"policy_denied"`) || !strings.Contains(ans.Body, `"field":"acl"`) {
		t.Fatalf("policy error: %+v", ans)
	}
}

// companionThrough mints a capability through invoke and checks the companionEndpoint it
// answers is want (the stage put back), then creates an Uppy upload through it.
func companionThrough(t *testing.T, want string, invoke func(method, path, token, body string) httpAnswer) {
	t.Helper()
	ans := invoke("POST", "/capabilities", "", "")
	var cp struct{ CompanionEndpoint string }
	if ans.StatusCode != 201 || json.Unmarshal([]byte(ans.Body), &cp) != nil || !strings.HasPrefix(cp.CompanionEndpoint, want+"/c/c1.") {
		t.Fatalf("capability: %+v; want an endpoint under %s/c/", ans, want)
	}
	rel := strings.TrimPrefix(cp.CompanionEndpoint, want) // the path the door puts its stage before
	if ans := invoke("POST", rel+"/s3/multipart", "", `{"filename":"a.txt","type":"text/plain","metadata":{"size":1}}`); ans.StatusCode != 200 {
		t.Fatalf("Uppy create through %s: %+v", cp.CompanionEndpoint, ans)
	}
}

// TestLambdaUnderEmulator runs the lambda.norpc build under the real Runtime Interface
// Emulator and sends API Gateway REST (v1) and HTTP API / Function URL (v2) events.
func TestLambdaUnderEmulator(t *testing.T) {
	b := functest.NewBackend(t)
	fn := functest.StartEmulator(t, functest.Build(t, "bootstrap", "lambda.norpc"), b.Env(true))
	raw := func(event any) httpAnswer {
		var ans httpAnswer
		fn.Invoke(event, &ans)
		return ans
	}
	const restHost, httpHost, urlHost = "abc123.execute-api.us-east-1.amazonaws.com", "def456.execute-api.us-east-1.amazonaws.com", "ghi789.lambda-url.us-east-1.on.aws"
	v1 := func(method, path, token, body string) httpAnswer {
		// As aws-lambda-go's apigw-request.json: Host and X-Forwarded-Proto headers, the
		// route without the stage in path, the called path in requestContext.path.
		h := map[string]string{"Content-Type": "application/json", "Host": restHost, "X-Forwarded-Proto": "https"}
		if token != "" {
			h["X-Upload-Token"] = token
		}
		return raw(map[string]any{"httpMethod": method, "path": path, "resource": "/{proxy+}", "headers": h, "body": body,
			"isBase64Encoded": false, "requestContext": map[string]any{"stage": "testStage", "requestId": "req-v1", "httpMethod": method,
				"domainName": restHost, "path": "/testStage" + path}})
	}
	v2 := func(stage string) func(method, path, token, body string) httpAnswer {
		return func(method, path, token, body string) httpAnswer {
			h := map[string]string{"content-type": "application/json"}
			if token != "" {
				h["x-upload-token"] = token
			}
			full, domain := path, urlHost // a Function URL event as the issue met it: no host header
			if stage != "$default" {
				full, domain = "/"+stage+path, httpHost
				h["host"], h["x-forwarded-proto"] = httpHost, "https"
			}
			return raw(map[string]any{"version": "2.0", "routeKey": "$default", "rawPath": full, "headers": h, "body": body,
				"isBase64Encoded": false, "requestContext": map[string]any{"stage": stage, "requestId": "req-v2", "domainName": domain,
					"http": map[string]any{"method": method, "path": full, "sourceIp": "203.0.113.9"}}})
		}
	}
	t.Run("REST API v1", func(t *testing.T) {
		uploadFlow(t, b, v1)
		companionThrough(t, "https://"+restHost+"/testStage", v1)
	})
	t.Run("HTTP API v2 with a stage", func(t *testing.T) {
		uploadFlow(t, b, v2("prod"))
		companionThrough(t, "https://"+httpHost+"/prod", v2("prod"))
	})
	t.Run("Function URL v2", func(t *testing.T) {
		uploadFlow(t, b, v2("$default"))
		companionThrough(t, "https://"+urlHost, v2("$default"))
	})
}

// TestLambdaWithS3 runs the Lambda build against a real S3 server (versitygw), signing
// with the role's AWS_* credentials, as template.yaml deploys it with S3Bucket set.
func TestLambdaWithS3(t *testing.T) {
	endpoint := functest.Versitygw(t, "directup-test")
	fn := functest.StartEmulator(t, functest.Build(t, "bootstrap", "lambda.norpc"), []string{
		"S3_BUCKET=directup-test", "S3_REGION=us-east-1", "S3_ENDPOINT=" + endpoint, "UPLOAD_TOKEN_SECRET=" + strings.Repeat("k", 32),
		"AWS_ACCESS_KEY_ID=" + functest.S3Creds[0], "AWS_SECRET_ACCESS_KEY=" + functest.S3Creds[1]})
	invoke := func(method, path, token, body string) httpAnswer {
		h := map[string]string{"content-type": "application/json"}
		if token != "" {
			h["x-upload-token"] = token
		}
		var ans httpAnswer
		fn.Invoke(map[string]any{"version": "2.0", "routeKey": "$default", "rawPath": path, "headers": h, "body": body,
			"requestContext": map[string]any{"stage": "$default", "http": map[string]any{"method": method, "path": path}}}, &ans)
		return ans
	}
	uploadFlowTo(t, 5<<20, func(key string) []byte { return functest.S3Do(t, endpoint, "GET", "/directup-test/"+key).Body }, invoke)
}

// TestSCFGo1 runs the binary as SCF's Go1 runtime would and drives it over net/rpc.
// The process starts without credentials: they arrive in each invoke's Environment.
func TestSCFGo1(t *testing.T) {
	b := functest.NewBackend(t)
	fn := functest.StartGo1(t, functest.Build(t, "main"), b.Env(false))
	if err := fn.Client.Call("Function.Ping", &struct{}{}, &struct{}{}); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	creds, _ := json.Marshal(map[string]string{"TENCENTCLOUD_SECRETID": functest.StoreCred.SecretID,
		"TENCENTCLOUD_SECRETKEY": functest.StoreCred.SecretKey, "TENCENTCLOUD_SESSIONTOKEN": functest.StoreCred.SessionToken})
	call := fn.Invoke
	invoke := func(method, path, token, body string) httpAnswer {
		h := map[string]string{"content-type": "application/json", "host": "service-abc123-1250000000.gz.apigw.tencentcs.com"}
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
	companionThrough(t, "https://service-abc123-1250000000.gz.apigw.tencentcs.com/release", invoke)

	// Errors of the invocation itself come back as the protocol's Error.
	resp := call([]byte(`{"Records":[]}`), "")
	if resp.Error == nil || resp.Error.ShouldExit || !strings.Contains(resp.Error.Message, "not an API Gateway") {
		t.Errorf("non-HTTP event: %+v", resp)
	}
	resp = call([]byte(`{"httpMethod":"GET","path":"/healthz"}`), "{not json")
	if resp.Error == nil || !strings.Contains(resp.Error.Message, "Environment") {
		t.Errorf("bad Environment: %+v", resp)
	}

	// The platform stops an instance with SIGTERM: the function stops serving and exits.
	fn.Cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- fn.Cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the Go1 function ignored SIGTERM")
	}
}

// TestSCFCustomRuntime runs the binary against a custom runtime API served by the test.
func TestSCFCustomRuntime(t *testing.T) {
	b := functest.NewBackend(t)
	bin := functest.Build(t, "bootstrap")
	events := make(chan []byte)
	answers := make(chan string)
	ready := make(chan struct{}, 1)
	done := make(chan struct{})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/runtime/init/ready":
			select {
			case ready <- struct{}{}:
			default:
			}
		case "/runtime/invocation/next":
			var ev []byte
			select {
			case ev = <-events:
			case <-done: // the test is over: let the server close
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("request_id", "custom-1")
			w.Header().Set("time_limit_in_ms", "10000")
			w.Header().Set("memory_limit_in_mb", "128")
			w.Write(ev)
		case "/runtime/invocation/response", "/runtime/invocation/error":
			kind := "ok "
			if strings.HasSuffix(r.URL.Path, "error") {
				kind = "error "
			}
			select {
			case answers <- kind + string(body):
			case <-done:
			}
		}
	}))
	// Cleanups run last-registered first: the function stops, then the long poll is
	// released, then the server closes.
	t.Cleanup(api.Close)
	t.Cleanup(func() { close(done) })
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(api.URL, "http://"))
	cmd := exec.Command(bin)
	cmd.Env = append(functest.BaseEnv(), append(b.Env(true), "SCF_RUNTIME_API="+host, "SCF_RUNTIME_API_PORT="+port, "TENCENTCLOUD_RUNENV=SCF")...)
	functest.Start(t, cmd)
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
	b := functest.NewBackend(t)
	bin := functest.Build(t, "main")
	port := functest.FreePort(t)
	cmd := exec.Command(bin)
	cmd.Env = append(functest.BaseEnv(), append(b.Env(true), "TENCENTCLOUD_RUNENV=SCF", "HOST=127.0.0.1", "PORT="+port)...)
	functest.Start(t, cmd)
	api := &apiclient.Client{API: "http://127.0.0.1:" + port}
	data := make([]byte, 1500)
	rand.Read(data)
	size := int64(len(data))
	var err error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var done *wire.Completed
		if _, done, err = api.Upload(context.Background(), &policy.InitiateRequest{Filename: "w.bin", ContentType: "application/octet-stream", Size: &size}, bytes.NewReader(data), nil); err == nil {
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
	refuse.Env = append(functest.BaseEnv(), "TENCENTCLOUD_RUNENV=SCF", "PORT="+functest.FreePort(t))
	out, err := refuse.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "COS_BUCKET") {
		t.Fatalf("a function without COS_BUCKET started: %v %s", err, out)
	}
}
