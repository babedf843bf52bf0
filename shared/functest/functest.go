// Package functest runs built functions under their real runtime protocols for tests: a
// local COS store to talk to, the AWS Lambda Runtime Interface Emulator, and a client of
// SCF's Go1 net/rpc protocol with its own copies of the wire types (gob matches them by
// field name, as the real runtime's encoder does). It also holds the helpers tests
// across packages share, once: ClearEnv (an environment nothing leaks into), ModuleDir
// (a dependency's source, for its fixtures), JWT (the tests' identity provider) and
// Receiver (a signed-webhook endpoint). Only tests import it; it imports no package that
// tests it (app, config, httpapi, queue, events, the platform adapters).
package functest

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/directup/directup/shared/cos"
	"github.com/directup/directup/shared/cos/cossign"
	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/localcos"
)

// StoreCred are the local store's keys, handed to functions as role credentials.
var StoreCred = cossign.Credentials{SecretID: "AKIDfunction", SecretKey: "function-secret", SessionToken: "function-token"}

// Backend is a local COS store on loopback.
type Backend struct {
	Store *localcos.Server
	URL   string
}

// NewBackend starts a store for the test.
func NewBackend(t testing.TB) *Backend { return NewBackendBehind(t, nil) }

// NewBackendBehind starts a store for the test served through wrap (nil: none), which
// sees every request: to count, delay or refuse them.
func NewBackendBehind(t testing.TB, wrap func(http.Handler) http.Handler) *Backend {
	s, err := localcos.New(t.TempDir(), "local-1250000000", StoreCred)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = s
	if wrap != nil {
		h = wrap(s)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &Backend{Store: s, URL: srv.URL}
}

// Client is a COS store client for this store, signing with StoreCred as a function's
// role would.
func (b *Backend) Client(t testing.TB) *cos.Client {
	c, err := cos.New(cos.Config{Bucket: "local-1250000000", Endpoint: b.URL}, credentials.Static{
		AccessKeyID: StoreCred.SecretID, SecretAccessKey: StoreCred.SecretKey, SessionToken: StoreCred.SessionToken}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Env is a function's configuration for this store; withCreds adds the role credentials
// SCF would set.
func (b *Backend) Env(withCreds bool) []string {
	e := []string{"COS_BUCKET=local-1250000000", "COS_ENDPOINT=" + b.URL, "UPLOAD_TOKEN_SECRET=" + strings.Repeat("k", 32), "COS_REGION="}
	if withCreds {
		e = append(e, "TENCENTCLOUD_SECRETID="+StoreCred.SecretID, "TENCENTCLOUD_SECRETKEY="+StoreCred.SecretKey, "TENCENTCLOUD_SESSIONTOKEN="+StoreCred.SessionToken)
	}
	return e
}

// BaseEnv is the test process's environment without anything a function reads.
func BaseEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "COS_") || strings.HasPrefix(k, "UPLOAD_") || strings.HasPrefix(k, "TENCENTCLOUD_") || strings.HasPrefix(k, "QUEUE_") ||
			strings.HasPrefix(k, "AUTH_") || strings.HasPrefix(k, "HOOK_") || strings.HasPrefix(k, "EVENTS_") || strings.HasPrefix(k, "S3_") || strings.HasPrefix(k, "AWS_LAMBDA") || k == "_LAMBDA_SERVER_PORT" || strings.HasPrefix(k, "SCF_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// Build compiles the package in the current directory into a binary called name.
func Build(t testing.TB, name string, tags ...string) string {
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

// FreePort returns a loopback port nobody listens on.
func FreePort(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// Start runs cmd until the test ends, printing its output if the test failed.
func Start(t testing.TB, cmd *exec.Cmd) {
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

// RIE finds aws-lambda-rie ($RIE_BIN or PATH); in CI its absence fails the test.
func RIE(t testing.TB) string {
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

// Emulator is a function running under the Runtime Interface Emulator.
type Emulator struct {
	t   testing.TB
	url string
}

// StartEmulator runs bin under the emulator with env.
func StartEmulator(t testing.TB, bin string, env []string) *Emulator {
	apiPort, runtimePort := FreePort(t), FreePort(t)
	cmd := exec.Command(RIE(t), "--runtime-interface-emulator-address", "127.0.0.1:"+apiPort, "--runtime-api-address", "127.0.0.1:"+runtimePort, bin)
	cmd.Env = append(BaseEnv(), env...)
	Start(t, cmd)
	return &Emulator{t: t, url: "http://127.0.0.1:" + apiPort + "/2015-03-31/functions/function/invocations"}
}

// Invoke sends one event and decodes the answer into out. The emulator serves one invoke
// at a time (overlapping ones crash it): callers invoke serially.
func (e *Emulator) Invoke(event, out any) {
	js, _ := json.Marshal(event)
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Post(e.url, "application/json", bytes.NewReader(js))
		if err != nil {
			if time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			e.t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err := json.Unmarshal(body, out); err != nil {
			e.t.Fatalf("emulator answered %d %s", resp.StatusCode, body)
		}
		return
	}
}

// Go1 wire types, declared apart from the server's.
type (
	WireTimestamp     struct{ Seconds, Nanos int64 }
	WireInvokeRequest struct {
		Payload                            []byte
		RequestId, TraceId                 string
		Deadline                           WireTimestamp
		InvokedFunctionUnique              string
		ClientContext                      []byte
		Namespace, FunctionName            string
		FunctionVersion                    string
		MemoryLimitInMb, TimeLimitInMs     int32
		Environment, TencentcloudRegion    string
		TencentcloudAppID, TencentcloudUin string
		FunctionTrace                      string
	}
	WireFrame struct {
		Path  string
		Line  int32
		Label string
	}
	WireError struct {
		Message, Type string
		StackTrace    []*WireFrame
		ShouldExit    bool
	}
	WireInvokeResponse struct {
		Payload []byte
		Error   *WireError
	}
)

// Go1 is a function started as SCF's Go1 runtime would, with an RPC client.
type Go1 struct {
	t      testing.TB
	Client *rpc.Client
	Cmd    *exec.Cmd // the function's process
}

// StartGo1 runs bin with _LAMBDA_SERVER_PORT and connects to it.
func StartGo1(t testing.TB, bin string, env []string) *Go1 {
	port := FreePort(t)
	cmd := exec.Command(bin)
	cmd.Env = append(BaseEnv(), append(env, "_LAMBDA_SERVER_PORT="+port, "TENCENTCLOUD_RUNENV=SCF")...)
	Start(t, cmd)
	for deadline := time.Now().Add(15 * time.Second); ; {
		c, err := rpc.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			t.Cleanup(func() { c.Close() })
			return &Go1{t: t, Client: c, Cmd: cmd}
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Invoke calls Function.Invoke with payload and the Environment JSON env.
func (g *Go1) Invoke(payload []byte, env string) WireInvokeResponse {
	dl := time.Now().Add(10 * time.Second)
	req := &WireInvokeRequest{Payload: payload, RequestId: "scf-req-1", Deadline: WireTimestamp{dl.Unix(), int64(dl.Nanosecond())},
		FunctionName: "directup", Namespace: "default", MemoryLimitInMb: 128, TimeLimitInMs: 10000, Environment: env}
	var resp WireInvokeResponse
	if err := g.Client.Call("Function.Invoke", req, &resp); err != nil {
		g.t.Fatalf("Invoke: %v", err)
	}
	return resp
}

// S3Creds are the keys of the S3 server Versitygw starts.
var S3Creds = [2]string{"directupkey", "directupsecret"}

// Versitygw starts a real S3 server (versitygw with its posix backend) on loopback with
// one bucket and returns its endpoint; $VERSITYGW_BIN or PATH; in CI its absence fails
// the test.
func Versitygw(t testing.TB, bucket string) string {
	bin := os.Getenv("VERSITYGW_BIN")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("versitygw"); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("versitygw is not installed; .ci/run installs it")
			}
			t.Skip("versitygw not installed (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0)")
		}
	}
	port := FreePort(t)
	cmd := exec.Command(bin, "--port", "127.0.0.1:"+port, "--access", S3Creds[0], "--secret", S3Creds[1],
		"--region", "us-east-1", "--cors-allow-origin", "*", "posix", t.TempDir())
	Start(t, cmd)
	endpoint := "http://127.0.0.1:" + port
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			c.Close()
			if code := S3Do(t, endpoint, http.MethodPut, "/"+bucket).StatusCode; code != 200 {
				t.Fatalf("CreateBucket %s: %d", bucket, code)
			}
			return endpoint
		}
		if time.Now().After(deadline) {
			t.Fatal("versitygw did not start")
		}
	}
}

// S3Do sends a signed request without body to the S3 server and returns the answer with
// its body read.
func S3Do(t testing.TB, endpoint, method, path string) *Answer {
	req, _ := http.NewRequest(method, endpoint+path, nil)
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	creds := aws.Credentials{AccessKeyID: S3Creds[0], SecretAccessKey: S3Creds[1]}
	if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(context.Background(), creds, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return &Answer{StatusCode: resp.StatusCode, Body: body}
}

// Answer is a response with its body.
type Answer struct {
	StatusCode int
	Body       []byte
}
