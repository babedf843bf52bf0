package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/directup/directup/shared/upload"
)

// BenchmarkInitiateRoundTrip is one POST /uploads through the handler, including the
// signed Initiate round trip to the local store over loopback and 100 part URLs.
func BenchmarkInitiateRoundTrip(b *testing.B) {
	e := setup(b, func(p *upload.Policy) { p.MaxSize = 1 << 40 })
	h := e.handler
	body := `{"filename":"video.mp4","contentType":"video/mp4","size":1073741824,"metadata":{"project":"42"}}`
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/uploads", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusCreated {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}
