package httpapi_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/directup/directup/shared/cos"
	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/httpapi"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/upload"
)

// BenchmarkInitiateRoundTrip is one POST /uploads through the handler, including the
// signed Initiate round trip to the local store over loopback and 100 part URLs.
func BenchmarkInitiateRoundTrip(b *testing.B) {
	e := setup(b, func(p *policy.Policy) { p.MaxSize = 1 << 40 })
	benchInitiate(b, e.handler)
}

// benchInitiate times POST /uploads of a 1 GiB file through h.
func benchInitiate(b *testing.B, h http.Handler) {
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

// answerInitiate is COS without the network: an in-process transport that answers every
// request with an InitiateMultipartUploadResult, so the benchmark below measures only
// directup's side of an initiate (decode, policy, key, signing the Initiate, XML, token,
// presigning the first batch of part URLs, the JSON answer).
type answerInitiate struct{}

func (answerInitiate) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost || r.Header.Get("Authorization") == "" {
		return nil, errors.New("unexpected " + r.Method + " or unsigned request")
	}
	const body = `<InitiateMultipartUploadResult><Bucket>examplebucket-1250000000</Bucket><Key>k</Key>` +
		`<UploadId>1585130821cbb7df1d11846c073ad648e8f33b087cec2381df437acdc833cf654b9ecc6361</UploadId></InitiateMultipartUploadResult>`
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/xml"}},
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
}

// BenchmarkInitiate is one POST /uploads through the handler, excluding the upstream round
// trip: a 1 GiB file, 128 parts of 8 MiB, the first 100 URLs signed with a
// 300-character session token.
func BenchmarkInitiate(b *testing.B) {
	store, err := cos.New(cos.Config{Bucket: "examplebucket-1250000000", Region: "ap-guangzhou"}, credentials.Static{
		AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "SECRETKEY", SessionToken: strings.Repeat("T", 300)},
		&http.Client{Transport: answerInitiate{}})
	if err != nil {
		b.Fatal(err)
	}
	policy := policy.Default()
	policy.MaxSize = 1 << 40
	svc, err := upload.NewService(store, policy, []byte(tokenSecret))
	if err != nil {
		b.Fatal(err)
	}
	benchInitiate(b, httpapi.New(svc, httpapi.Options{}))
}
