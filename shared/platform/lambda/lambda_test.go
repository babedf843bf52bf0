package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/directup/directup/shared/auth"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/gateway"
)

func TestHandler(t *testing.T) {
	var path, body, token string
	h := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		path, body, token = r.URL.Path, string(b), r.Header.Get("X-Upload-Token")
		w.WriteHeader(201)
		w.Write([]byte("created"))
	}))
	tests := []struct {
		name, event, wantPath string
		v2                    bool
	}{
		{"rest api v1", `{"httpMethod":"POST","path":"/uploads","headers":{"X-Upload-Token":"t"},"body":"{}","requestContext":{"stage":"prod"}}`, "/uploads", false},
		{"http api v2 stage", `{"version":"2.0","rawPath":"/prod/uploads/x","headers":{"x-upload-token":"t"},"body":"{}","requestContext":{"stage":"prod","http":{"method":"POST"}}}`, "/uploads/x", true},
		{"function url", `{"version":"2.0","rawPath":"/uploads","headers":{"x-upload-token":"t"},"body":"{}","requestContext":{"stage":"$default","http":{"method":"POST"}}}`, "/uploads", true},
	}
	for _, tt := range tests {
		out, err := h(context.Background(), json.RawMessage(tt.event))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		status := 0
		if tt.v2 {
			status = out.(events.APIGatewayV2HTTPResponse).StatusCode
		} else {
			status = out.(events.APIGatewayProxyResponse).StatusCode
		}
		if status != 201 || path != tt.wantPath || body != "{}" || token != "t" {
			t.Errorf("%s: %d %s %q %q", tt.name, status, path, body, token)
		}
	}
	if _, err := h(context.Background(), json.RawMessage(`{"Records":[]}`)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("sqs event: %v", err)
	}
}

// aws-lambda-go's own fixtures: its SQS event is processed; the other shapes the queue
// function could be wired to by mistake are refused, never acknowledged.
func TestSQSHandlerFixtures(t *testing.T) {
	dir := filepath.Join(functest.ModuleDir(t, "github.com/aws/aws-lambda-go"), "events", "testdata")
	var bodies []string
	h := SQSHandler(func(_ context.Context, body []byte, id string) bool {
		bodies = append(bodies, id)
		return false
	})
	for _, tt := range []struct {
		file string
		ok   bool
	}{
		{"sqs-event.json", true},
		{"apigw-request.json", false},
		{"apigw-v2-request-no-authorizer.json", false},
		{"lambda-urls-request.json", false},
		{"s3-event.json", false},
		{"sns-event.json", false},
	} {
		raw, err := os.ReadFile(filepath.Join(dir, tt.file))
		if err != nil {
			t.Fatal(err)
		}
		var ev events.SQSEvent
		json.Unmarshal(raw, &ev) // as aws-lambda-go decodes it for the handler
		bodies = nil
		resp, err := h(context.Background(), ev)
		if tt.ok && (err != nil || len(bodies) != len(ev.Records) || resp.BatchItemFailures == nil) {
			t.Errorf("%s: %v, %d of %d records", tt.file, err, len(bodies), len(ev.Records))
		}
		if !tt.ok && (!errors.Is(err, ErrNotSQS) || len(bodies) != 0) {
			t.Errorf("%s: %v, %d records processed; want ErrNotSQS", tt.file, err, len(bodies))
		}
	}
}

// A body marked base64 that is not is the client's fault: 400, not an invocation error.
func TestBadBase64Body(t *testing.T) {
	h := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("the handler must not run") }))
	for _, event := range []string{
		`{"httpMethod":"POST","path":"/uploads","isBase64Encoded":true,"body":"%%%","requestContext":{"requestId":"rid-1"}}`,
		`{"version":"2.0","rawPath":"/uploads","isBase64Encoded":true,"body":"%%%","requestContext":{"requestId":"rid-1","http":{"method":"POST"}}}`,
	} {
		out, err := h(context.Background(), json.RawMessage(event))
		if err != nil {
			t.Fatalf("an invocation error: %v", err)
		}
		js, _ := json.Marshal(out)
		var resp struct {
			StatusCode int
			Body       string
		}
		json.Unmarshal(js, &resp)
		if resp.StatusCode != 400 || !strings.Contains(resp.Body, `"code":"invalid_json"`) || !strings.Contains(resp.Body, "rid-1") {
			t.Errorf("%s: %s", event, js)
		}
	}
}

// The public base URL each of aws-lambda-go's own fixtures gives, and a custom domain
// with a base path mapping.
func TestPublicURL(t *testing.T) {
	dir := filepath.Join(functest.ModuleDir(t, "github.com/aws/aws-lambda-go"), "events", "testdata")
	var got string
	h := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = gateway.PublicURL(r.Context())
		w.WriteHeader(http.StatusNoContent)
	}))
	for file, want := range map[string]string{
		"apigw-request.json":                  "https://gy415nuibc.execute-api.us-east-1.amazonaws.com/testStage", // its Host header
		"apigw-v2-request-no-authorizer.json": "https://aaaaaaaaaa.execute-api.us-west-2.amazonaws.com",
		"lambda-urls-request.json":            "https://<url-id>.lambda-url.us-west-2.on.aws",
	} {
		raw, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		got = "(not called)"
		if _, err := h(context.Background(), raw); err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", file, got, err, want)
		}
	}
	custom := `{"httpMethod":"GET","path":"/healthz","headers":{"Host":"api.example.com"},"requestContext":{"stage":"prod","path":"/uploads-api/healthz","domainName":"api.example.com"}}`
	if _, err := h(context.Background(), json.RawMessage(custom)); err != nil || got != "https://api.example.com/uploads-api" {
		t.Errorf("custom domain: %q %v", got, err)
	}
}

// The caller comes from the authorizer context of aws-lambda-go's fixtures, per claim
// setting; a header the client sends is never read in that mode.
func TestAuthorizerIdentity(t *testing.T) {
	dir := filepath.Join(functest.ModuleDir(t, "github.com/aws/aws-lambda-go"), "events", "testdata")
	tests := []struct{ file, claim, want string }{
		{"apigw-v2-request-jwt-authorizer.json", "claim1", "value1"},
		{"apigw-v2-request-lambda-authorizer.json", "key", "value"},
		{"apigw-v2-request-iam.json", "userArn", "arn:aws:iam::1234567890:user/Admin"},
		{"apigw-request.json", "principalId", "admin"},
		{"apigw-v2-request-no-authorizer.json", "sub", ""},
		{"apigw-v2-request-jwt-authorizer.json", "sub", ""}, // a claim the token does not carry
	}
	for _, tt := range tests {
		a, err := auth.New(auth.Settings{Mode: auth.ModeGateway, GatewayClaim: tt.claim})
		if err != nil {
			t.Fatal(err)
		}
		var got string
		var gotErr error
		h := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, err := a.Identify(r)
			got, gotErr = id.Subject, err
			w.WriteHeader(http.StatusNoContent)
		}))
		raw, err := os.ReadFile(filepath.Join(dir, tt.file))
		if err != nil {
			t.Fatal(err)
		}
		// A client's own identity header rides along; it must change nothing.
		var ev map[string]any
		json.Unmarshal(raw, &ev)
		headers, _ := ev["headers"].(map[string]any)
		if headers == nil {
			headers = map[string]any{}
			ev["headers"] = headers
		}
		headers["X-Auth-Subject"] = "mallory"
		raw, _ = json.Marshal(ev)
		if _, err := h(context.Background(), raw); err != nil {
			t.Fatal(err)
		}
		if got != tt.want || (tt.want == "") != (gotErr != nil) {
			t.Errorf("%s claim %s: %q %v, want %q", tt.file, tt.claim, got, gotErr, tt.want)
		}
	}
}

// ALB target and WebSocket events (aws-lambda-go's fixtures) are refused with the
// unsupported-event error, never routed as REST events.
func TestUnsupportedEvents(t *testing.T) {
	dir := filepath.Join(functest.ModuleDir(t, "github.com/aws/aws-lambda-go"), "events", "testdata")
	h := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("routed") }))
	for _, file := range []string{"alb-lambda-target-request-headers-only.json", "alb-lambda-target-request-multivalue-headers.json",
		"apigw-websocket-request.json", "apigw-websocket-request-send-message.json", "apigw-websocket-request-disconnect.json", "sqs-event.json"} {
		raw, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h(context.Background(), raw); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: %v", file, err)
		}
	}
}

// The API's X-Request-Id is the platform's: the gateway's request id, else the
// invocation's; a client's own id is kept.
func TestRequestIDs(t *testing.T) {
	var got string
	h := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("X-Request-Id")
		w.WriteHeader(http.StatusNoContent)
	}))
	invocation := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "inv-1"})
	for _, tt := range []struct{ event, want string }{
		{`{"httpMethod":"GET","path":"/healthz","requestContext":{"requestId":"gw-1"}}`, "gw-1"},
		{`{"httpMethod":"GET","path":"/healthz","multiValueHeaders":{"Accept":["*/*"]},"requestContext":{"requestId":"gw-2"}}`, "gw-2"},
		{`{"version":"2.0","rawPath":"/healthz","requestContext":{"requestId":"gw-3","http":{"method":"GET"}}}`, "gw-3"},
		{`{"version":"2.0","rawPath":"/healthz","requestContext":{"http":{"method":"GET"}}}`, "inv-1"},
		{`{"version":"2.0","rawPath":"/healthz","headers":{"x-request-id":"mine"},"requestContext":{"requestId":"gw-4","http":{"method":"GET"}}}`, "mine"},
	} {
		got = ""
		if _, err := h(invocation, json.RawMessage(tt.event)); err != nil || got != tt.want {
			t.Errorf("%s: %q %v, want %q", tt.event, got, err, tt.want)
		}
	}
}
