package s3

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/wire"
)

// BenchmarkPresign10000 presigns a whole 10,000-part plan with SigV4 (no network).
func BenchmarkPresign10000(b *testing.B) {
	c, err := New(Config{Bucket: "examplebucket", Region: "us-east-1"}, credentials.Static{
		AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "SECRET", SessionToken: strings.Repeat("T", 300)}, nil)
	if err != nil {
		b.Fatal(err)
	}
	parts := make([]wire.PartSpec, 10000)
	for i := range parts {
		parts[i] = wire.PartSpec{Number: i + 1, Size: 8 << 20}
	}
	for _, compact := range []bool{false, true} {
		name := "urls"
		if compact {
			name = "compact" // the template and the signatures, no URL built
		}
		b.Run(name, func(b *testing.B) {
			req := &storage.PresignRequest{Key: "uploads/abc/video file.mp4", UploadID: "VXBsb2FkSWQ", Parts: parts, TTL: time.Hour, Compact: compact}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Presign(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPresign10000SDK is the same plan through aws-sdk-go-v2's signer, one
// PresignHTTP per part as the store did before partPresigner: the figure it is measured
// against.
func BenchmarkPresign10000SDK(b *testing.B) {
	c, err := New(Config{Bucket: "examplebucket", Region: "us-east-1"}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	cred := credentials.Value{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "SECRET", SessionToken: strings.Repeat("T", 300)}
	req := &storage.PresignRequest{Key: "uploads/abc/video file.mp4", UploadID: "VXBsb2FkSWQ"}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		for n := 1; n <= 10000; n++ {
			sdkPartURL(b, c, cred, req, n, 8<<20, now, time.Hour)
		}
	}
}
