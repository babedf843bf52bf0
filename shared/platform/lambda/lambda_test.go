package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
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
