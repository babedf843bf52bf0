package upload_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/directup/directup/shared/cos"
	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

// farCOS answers COS's initiate, complete and ranged GET in-process, each after sleeping
// delay (storage a network away: the round trip, not the bytes), and counts the requests.
type farCOS struct {
	delay    time.Duration
	size     int64
	requests atomic.Int64
}

func (f *farCOS) RoundTrip(r *http.Request) (*http.Response, error) {
	f.requests.Add(1)
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
	}
	time.Sleep(f.delay)
	h := http.Header{"Content-Type": {"application/xml"}}
	status, body := http.StatusOK, ""
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPost && q.Has("uploads"):
		body = `<InitiateMultipartUploadResult><UploadId>U1</UploadId></InitiateMultipartUploadResult>`
	case r.Method == http.MethodPost && q.Has("uploadId"):
		body = `<CompleteMultipartUploadResult><Location>l</Location><ETag>"e-10000"</ETag></CompleteMultipartUploadResult>`
	case r.Method == http.MethodGet && q.Get("uploadId") == "":
		status, body = http.StatusPartialContent, "\x00\x00\x00\x20ftypisom"+strings.Repeat("\x00", 100)
		h.Set("Content-Type", "video/mp4")
		h.Set("Content-Range", "bytes 0-3071/"+strconv.FormatInt(f.size, 10))
	default:
		return nil, errors.New("unexpected " + r.Method + " " + r.URL.String())
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)), Request: r}, nil
}

// BenchmarkComplete10000 is the complete of a 10,000-part upload (1 MiB parts) with
// storage 10 ms away each way: the store's complete and one read, no listing pages first.
// It reports the storage requests per complete.
func BenchmarkComplete10000(b *testing.B) {
	const parts = 10000
	far := &farCOS{delay: 20 * time.Millisecond, size: parts << 20}
	store, err := cos.New(cos.Config{Bucket: "examplebucket-1250000000", Region: "ap-guangzhou"},
		credentials.Static{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "SECRETKEY"}, &http.Client{Transport: far})
	if err != nil {
		b.Fatal(err)
	}
	p := policy.Default()
	p.MaxSize = 1 << 40
	svc, err := upload.NewService(store, p, []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		b.Fatal(err)
	}
	size, ctx := int64(parts<<20), context.Background()
	named := make([]wire.CompletedPart, parts)
	for i := range named {
		named[i] = wire.CompletedPart{PartNumber: i + 1, ETag: `"0123456789abcdef0123456789abcdef"`}
	}
	b.ResetTimer()
	var completes int64
	for b.Loop() {
		b.StopTimer()
		up, err := svc.InitiatePlanned(ctx, &policy.InitiateRequest{Filename: "v.mp4", ContentType: "video/mp4", Size: &size, PartSize: 1 << 20})
		if err != nil {
			b.Fatal(err)
		}
		before := far.requests.Load()
		b.StartTimer()
		if _, err := svc.Complete(ctx, up.Token, up.UploadID, named); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		completes += far.requests.Load() - before
		b.StartTimer()
	}
	b.ReportMetric(float64(completes)/float64(b.N), "requests/op")
}
