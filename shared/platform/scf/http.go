package scf

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/directup/directup/shared/gateway"
	"github.com/directup/directup/shared/wire"
)

// HTTPEvent is an API Gateway trigger event; a Function URL event is the same shape
// without requestContext, isBase64Encoded and the *Parameters maps.
type HTTPEvent struct {
	RequestContext *struct {
		ServiceID  string `json:"serviceId"`
		Path       string `json:"path"`
		HTTPMethod string `json:"httpMethod"`
		RequestID  string `json:"requestId"`
		SourceIP   string `json:"sourceIp"`
		Stage      string `json:"stage"`
	} `json:"requestContext,omitempty"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
	Path            string            `json:"path"`
	HTTPMethod      string            `json:"httpMethod"`
	QueryString     map[string]any    `json:"queryString"` // string, []string or true
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}

// HTTPResponse is the integrated response both triggers take.
type HTTPResponse struct {
	IsBase64Encoded bool              `json:"isBase64Encoded"`
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
}

var errBadBase64 = errors.New("scf: isBase64Encoded body is not base64")

// ErrNotHTTP means the payload is not an HTTP trigger event.
var ErrNotHTTP = errors.New("scf: the event is not an API Gateway or Function URL event")

// HTTPHandler turns HTTP trigger events into requests of h and its answers into
// integrated responses.
func HTTPHandler(h http.Handler) Handler {
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		var ev HTTPEvent
		if err := json.Unmarshal(payload, &ev); err != nil || ev.HTTPMethod == "" {
			return nil, ErrNotHTTP
		}
		req, err := ev.Request(ctx)
		if errors.Is(err, errBadBase64) {
			id := ""
			if inv, ok := FromContext(ctx); ok {
				id = inv.RequestID
			}
			return json.Marshal(HTTPResponse{StatusCode: http.StatusBadRequest,
				Headers: map[string]string{"Content-Type": "application/json; charset=utf-8"}, Body: wire.BadBase64Body(id)})
		}
		if err != nil {
			return nil, err
		}
		w := newRecorder()
		h.ServeHTTP(w, req)
		return json.Marshal(w.response())
	}
}

// Request builds the http.Request the event describes. An API Gateway stage prefix
// ("/release/uploads") is removed so routes match behind any stage.
func (ev *HTTPEvent) Request(ctx context.Context) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, errBadBase64
		}
	}
	path := ev.Path
	if path == "" {
		path = "/"
	}
	stagePrefix := ""
	if rc := ev.RequestContext; rc != nil && rc.Stage != "" {
		if p, ok := strings.CutPrefix(path, "/"+rc.Stage); ok && (p == "" || p[0] == '/') {
			path = "/" + strings.TrimPrefix(p, "/")
			stagePrefix = "/" + rc.Stage
		}
	}
	q := url.Values{}
	for k, v := range ev.QueryString {
		switch v := v.(type) {
		case string:
			q.Add(k, v)
		case []any:
			for _, s := range v {
				if s, ok := s.(string); ok {
					q.Add(k, s)
				}
			}
		case bool:
			if v {
				q.Add(k, "") // "?flag" arrives as true
			}
		case float64:
			b, _ := json.Marshal(v)
			q.Add(k, string(b))
		}
	}
	u := &url.URL{Path: path, RawQuery: q.Encode()}
	req, err := http.NewRequestWithContext(ctx, ev.HTTPMethod, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range ev.Headers {
		req.Header.Set(k, v) // canonicalises the lowercase names Function URLs send
	}
	req.Host = req.Header.Get("Host")
	req.RemoteAddr = req.Header.Get("X-Scf-Remote-Addr")
	if rc := ev.RequestContext; rc != nil {
		if rc.SourceIP != "" {
			req.RemoteAddr = rc.SourceIP
		}
		if rc.RequestID != "" && req.Header.Get("X-Request-Id") == "" {
			req.Header.Set("X-Request-Id", rc.RequestID)
		}
	}
	if inv, ok := FromContext(ctx); ok && req.Header.Get("X-Request-Id") == "" {
		req.Header.Set("X-Request-Id", inv.RequestID)
	}
	if rc := ev.RequestContext; rc != nil && rc.Stage != "" && stagePrefix == "" && gatewayDomain(req.Host) {
		// The gateway's own domain serves every stage under /<stage>; a custom domain
		// maps its paths to a stage without one.
		stagePrefix = "/" + rc.Stage
	}
	base := gateway.BaseURL(req.Header.Get("X-Forwarded-Proto"), req.Host, stagePrefix)
	return req.WithContext(gateway.WithPublicURL(req.Context(), base)), nil
}

// gatewayDomain reports a Tencent API Gateway service's default domain.
func gatewayDomain(host string) bool {
	host, _, _ = strings.Cut(host, ":")
	return strings.HasSuffix(host, ".apigw.tencentcs.com") || strings.HasSuffix(host, ".apigateway.myqcloud.com")
}

// recorder collects a handler's answer in memory (an invocation answers in one piece).
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}

func (r *recorder) response() HTTPResponse {
	out := HTTPResponse{StatusCode: r.status, Headers: map[string]string{}}
	if out.StatusCode == 0 {
		out.StatusCode = http.StatusOK
	}
	for _, k := range slices.Sorted(maps.Keys(r.header)) {
		out.Headers[k] = strings.Join(r.header[k], ", ")
	}
	if textual(r.header.Get("Content-Type")) {
		out.Body = r.body.String()
	} else if r.body.Len() > 0 {
		out.IsBase64Encoded = true
		out.Body = base64.StdEncoding.EncodeToString(r.body.Bytes())
	}
	return out
}

func textual(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "" || strings.HasPrefix(mt, "text/") || mt == "application/json" || mt == "application/javascript" ||
		mt == "application/xml" || strings.HasSuffix(mt, "+json")
}
