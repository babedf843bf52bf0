package s3

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/storerest"
	"github.com/directup/directup/shared/wire"
)

// sdkPartURL is the oracle: aws-sdk-go-v2's own signer, as the store called it before
// partPresigner, presigning one UploadPart.
func sdkPartURL(t testing.TB, c *Client, cred credentials.Value, req *storage.PresignRequest, n int, size int64, now time.Time, ttl time.Duration) string {
	t.Helper()
	r, err := http.NewRequest(http.MethodPut, c.url(req.Key, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if req.CustomerKeyMD5 != "" {
		h, keyHeader := storerest.SSECPartHeaders("x-amz-", req.CustomerKeyMD5)
		for k, v := range h {
			r.Header.Set(k, v)
		}
		r.Header.Set(keyHeader, req.CustomerKey)
	}
	r.URL.RawQuery = url.Values{"uploadId": {req.UploadID}, "partNumber": {strconv.Itoa(n)},
		"X-Amz-Expires": {strconv.FormatInt(int64(ttl/time.Second), 10)}}.Encode()
	r.ContentLength = size
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableHeaderHoisting, o.DisableURIPathEscaping = true, true })
	u, _, err := signer.PresignHTTP(context.Background(), awsCreds(cred), r, "UNSIGNED-PAYLOAD", "s3", c.region, now)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestPresignMatchesSDKSigner compares every part URL of random uploads with the SDK
// signer's, byte for byte: odd keys, endpoints with and without (default) ports, path and
// virtual-hosted style, with and without session tokens, SSE-C, pinned and unpinned sizes
// (0 included), any TTL, any time of day.
func TestPresignMatchesSDKSigner(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 42))
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	runes := []rune("abcXYZ019 -_.~/!*'()&$+,;=:@[]%?#\"<>\\^`{|}é漢字😀\t")
	for i := range 1000 {
		endpoint := pick("", "http://127.0.0.1:7070", "https://s3.example.com", "https://s3.example.com:443", "http://minio.local:80", "http://[::1]:9000")
		region := pick("us-east-1", "eu-central-1", "ap-guangzhou")
		c, err := New(Config{Bucket: pick("examplebucket", "b-1.x"), Region: region, Endpoint: endpoint}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		var key []rune
		for range 1 + rng.IntN(40) {
			key = append(key, runes[rng.IntN(len(runes))])
		}
		cred := credentials.Value{AccessKeyID: pick("AKIDEXAMPLE", "ASIA"+strconv.Itoa(i)), SecretAccessKey: "secret/" + strconv.Itoa(rng.IntN(3)),
			SessionToken: pick("", "FwoGZXIvYXdzE+token/with=chars==", fmt.Sprint(rng.Uint64()))}
		if rng.IntN(2) == 0 { // real tokens run to a thousand characters: heads of every length mod 64
			cred.SessionToken = strings.Repeat("Fwo+", rng.IntN(300)) + cred.SessionToken[:min(len(cred.SessionToken), rng.IntN(4))]
		}
		now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(72 * time.Hour))))
		ttl := time.Duration(60+rng.IntN(7*24*3600-60)) * time.Second
		req := &storage.PresignRequest{Key: string(key), UploadID: pick("VXBsb2FkSWQ", "2~abc+def/ghi=", "a b"), Unpinned: rng.IntN(4) == 0}
		if rng.IntN(3) == 0 {
			req.CustomerKey, req.CustomerKeyMD5 = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "zZ5FnqcIqUjVwvWmyog4zw=="
		}
		for range 1 + rng.IntN(5) {
			size := []int64{0, 1, 5 << 20, rng.Int64N(5 << 30)}[rng.IntN(4)]
			req.Parts = append(req.Parts, wire.PartSpec{Number: 1 + rng.IntN(10000), Size: size})
		}
		signed := map[string]string{}
		if req.CustomerKeyMD5 != "" {
			h, keyHeader := storerest.SSECPartHeaders("x-amz-", req.CustomerKeyMD5)
			for k, v := range h {
				signed[strings.ToLower(k)] = v
			}
			signed[keyHeader] = req.CustomerKey
		}
		p := newPartPresigner(presignOptions{base: c.base, path: c.pathPrefix + "/" + escapePath(req.Key), host: c.host, region: region,
			uploadID: req.UploadID, headers: signed, signLength: !req.Unpinned, now: now, expires: ttl, accessKeyID: cred.AccessKeyID,
			token: cred.SessionToken, signingKey: c.keys.get(cred.AccessKeyID, cred.SecretAccessKey, now.Format("20060102"), region)})
		for _, part := range req.Parts {
			size := part.Size
			if req.Unpinned {
				size = 0
			}
			got, want := p.url(part.Number, size), sdkPartURL(t, c, cred, req, part.Number, size, now, ttl)
			if got != want {
				t.Fatalf("case %d (key %q, endpoint %q, part %d of %d bytes):\n got %s\nwant %s", i, req.Key, endpoint, part.Number, size, got, want)
			}
		}
	}
}

// TestPresignUsesTheSigner checks Client.Presign end to end (credentials, window, the
// SSE-C key demanded) gives the SDK signer's URLs.
func TestPresignUsesTheSigner(t *testing.T) {
	now := time.Date(2026, 12, 1, 23, 59, 30, 0, time.UTC)
	cred := credentials.Static{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "s", SessionToken: "tok", Expires: now.Add(30 * time.Minute)}
	c, err := New(Config{Bucket: "b", Region: "us-east-1", Endpoint: "http://127.0.0.1:7070"}, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Client.Now = func() time.Time { return now }
	req := &storage.PresignRequest{Key: "a/b c.bin", UploadID: "u1", TTL: time.Hour, CustomerKeyMD5: "zZ5FnqcIqUjVwvWmyog4zw==",
		Parts: []wire.PartSpec{{Number: 1, Size: 5 << 20}, {Number: 2, Size: 7}}}
	var ue *errcode.Error
	if _, err := c.Presign(context.Background(), req); !errors.As(err, &ue) || ue.Code != errcode.MissingField {
		t.Fatalf("SSE-C without the key: %v, want %s", err, errcode.MissingField)
	}
	req.CustomerKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	got, err := c.Presign(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Expires.Equal(now.Add(30 * time.Minute)) {
		t.Errorf("expires %v, want the credentials' expiry", got.Expires)
	}
	v, _ := cred.Retrieve(context.Background())
	for i, part := range req.Parts {
		if want := sdkPartURL(t, c, v, req, part.Number, part.Size, now, 30*time.Minute); got.Parts[i].URL != want {
			t.Errorf("part %d:\n got %s\nwant %s", part.Number, got.Parts[i].URL, want)
		}
	}
}
