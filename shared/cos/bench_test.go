package cos

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/wire"
)

// BenchmarkPresign10000 presigns a whole 10,000-part plan through the store, as an
// initiate of the largest object would if it asked for every URL at once.
func BenchmarkPresign10000(b *testing.B) {
	c, err := New(Config{Bucket: "examplebucket-1250000000", Region: "ap-guangzhou"}, credentials.Static{
		AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "SECRETKEY", SessionToken: strings.Repeat("T", 300)}, nil)
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
			req := &storage.PresignRequest{Key: "uploads/abc/video file.mp4", UploadID: "1585130821cbb7df1d11846c073ad648e8f33b087cec2381df437acdc833cf654b9ecc6361",
				Parts: parts, TTL: time.Hour, Compact: compact}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Presign(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
