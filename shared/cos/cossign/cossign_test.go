package cossign

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	cos "github.com/tencentyun/cos-go-sdk-v5"
)

var (
	vecStart = time.Unix(1480932292, 0)
	vecEnd   = time.Unix(1481012292, 0)
)

// Known-answer vectors of the COS signature, computed by the official SDK and recomputed independently.
func TestVectors(t *testing.T) {
	kt := KeyTime(vecStart, vecEnd)
	if kt != "1480932292;1481012292" {
		t.Fatalf("KeyTime = %q", kt)
	}
	tests := []struct {
		name, sk     string
		req          Request
		hlist, plist string
		want         string
	}{
		{
			name: "put with x-cos headers",
			sk:   "AKIDZfbOA78asKUYBcXFrJD0a1ICvR98JM",
			req: Request{Method: "PUT", Path: "/testfile2", Headers: http.Header{
				"Host":                {"testbucket-125000000.cos.ap-guangzhou.myqcloud.com"},
				"X-Cos-Content-Sha1":  {"db8ac1c259eb89d4a131b253bacfca5f319d54f2"},
				"X-Cos-Stroage-Class": {"nearline"},
			}},
			hlist: "host;x-cos-content-sha1;x-cos-stroage-class",
			want:  "ce4ac0ecbcdb30538b3fee0a97cc6389694ce53a",
		},
		{
			name: "initiate with token",
			sk:   "SECRETKEY",
			req: Request{Method: "POST", Path: "/dir/a b.txt", Params: url.Values{"uploads": {""}}, Headers: http.Header{
				"Content-Length":       {"0"},
				"Host":                 {"examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com"},
				"X-Cos-Security-Token": {"TOKEN123"},
			}},
			hlist: "content-length;host;x-cos-security-token",
			plist: "uploads",
			want:  "7199accdfaa22b73c6a75db2c910db2dee777a0a",
		},
		{
			name: "presigned part, token in query",
			sk:   "SECRETKEY",
			req: Request{Method: "PUT", Path: "/dir/a b.txt",
				Params:  url.Values{"partNumber": {"1"}, "uploadId": {"UPLOADID"}, "x-cos-security-token": {"TOKEN123"}},
				Headers: http.Header{"Host": {"examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com"}}},
			hlist: "host",
			plist: "partnumber;uploadid;x-cos-security-token",
			want:  "93e98d81b3a463bd6bac33cfc2d876ca6bcc2a93",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Sign(tt.sk, kt, tt.req)
			if got.Signature != tt.want || got.HeaderList != tt.hlist || got.ParamList != tt.plist {
				t.Errorf("got %+v, want signature %s headers %q params %q", got, tt.want, tt.hlist, tt.plist)
			}
		})
	}
}

func TestPartPresignerVector(t *testing.T) {
	p, err := NewPartPresigner(Credentials{"AKIDEXAMPLE", "SECRETKEY", "TOKEN123"}, PartOptions{
		Endpoint: "https://examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com",
		Host:     "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com",
		Key:      "dir/a b.txt", UploadID: "UPLOADID", KeyTime: KeyTime(vecStart, vecEnd),
	})
	if err != nil {
		t.Fatal(err)
	}
	// The token travels unsigned: the signature is the SDK's for the same request without
	// it (TestPartPresignerMatchesSDK checks thousands).
	want := "https://examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com/dir/a%20b.txt?partNumber=1&uploadId=UPLOADID&x-cos-security-token=TOKEN123&q-sign-algorithm=sha1&q-ak=AKIDEXAMPLE&q-sign-time=1480932292%3B1481012292&q-key-time=1480932292%3B1481012292&q-header-list=host&q-url-param-list=partnumber%3Buploadid&q-signature=04e43dfa7714d4adb0228398d0df463f877b373a"
	if got := p.URL(1, 0); got != want {
		t.Errorf("URL =\n%s\nwant\n%s", got, want)
	}

	// A batch across every digit-width boundary slices its shared text at the right places.
	parts := []Part{{9, 0}, {10, 0}, {99, 0}, {100, 0}, {999, 0}, {1000, 0}, {9999, 0}, {10000, 0}, {1, 0}}
	for i, got := range p.URLs(parts) {
		if one := p.URL(parts[i].Number, 0); got != one {
			t.Errorf("URLs[%d] = %s\nURL(%d) = %s", i, got, parts[i].Number, one)
		}
	}
	if got := p.URLs(parts)[8]; got != want {
		t.Errorf("the last URL of a batch differs from the vector: %s", got)
	}

	// A whole consecutive plan, as initiates sign it: part numbers counted up across their
	// carries, parts paired where the CPU allows, a shorter last part. Each URL must equal
	// the one signed alone (which the SDK tests check).
	plan := make([]Part, 1200)
	for i := range plan {
		plan[i] = Part{i + 1, 8 << 20}
	}
	plan[len(plan)-1].Size = 12345
	for _, signLen := range []bool{false, true} {
		p, err := NewPartPresigner(Credentials{"AKIDEXAMPLE", "SECRETKEY", "TOKEN123"}, PartOptions{
			Endpoint: "https://examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com",
			Host:     "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com",
			Key:      "dir/a b.txt", UploadID: "UPLOADID", KeyTime: KeyTime(vecStart, vecEnd), SignContentLength: signLen,
		})
		if err != nil {
			t.Fatal(err)
		}
		tpl, sigs := p.Template("{n}", "{s}"), p.Signatures(plan)
		for i, got := range p.URLs(plan) {
			if one := p.URL(plan[i].Number, plan[i].Size); got != one {
				t.Fatalf("sizes signed %v: URLs[%d] = %s\nURL(%d) = %s", signLen, i, got, plan[i].Number, one)
			}
			// The compact form's pieces make the same URL.
			built := strings.Replace(strings.Replace(tpl, "{n}", strconv.Itoa(plan[i].Number), 1), "{s}", sigs[i*40:(i+1)*40], 1)
			if built != got {
				t.Fatalf("template and signature %d: %s\nwant %s", i, built, got)
			}
		}
	}
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, q, path string }{
		{"abcXYZ019-_.~", "abcXYZ019-_.~", "abcXYZ019-_.~"},
		{"a b/c", "a%20b%2Fc", "a%20b/c"},
		{"!*'()+%;=&", "%21%2A%27%28%29%2B%25%3B%3D%26", "!*'()%2B%25%3B%3D%26"},
		{"é", "%C3%A9", "%C3%A9"},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.q {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.q)
		}
		if got := EscapePath(tt.in); got != tt.path {
			t.Errorf("EscapePath(%q) = %q, want %q", tt.in, got, tt.path)
		}
	}
}

// randomKey draws keys with the characters that trip encoders: spaces, unicode, '+', '%', '/'.
func randomKey(r *rand.Rand) string {
	alphabet := []string{"a", "Z", "9", " ", "+", "%", "/", "é", "文件", "~", "-", "_", ".", "!", "*", "(", ")", "'", "=", "&", "?", "#", ";", ",", "@", ":"}
	var b strings.Builder
	n := 1 + r.IntN(24)
	for i := 0; i < n; i++ {
		b.WriteString(alphabet[r.IntN(len(alphabet))])
	}
	k := strings.TrimLeft(b.String(), "/")
	if k == "" {
		k = "k"
	}
	return k
}

func randomValue(r *rand.Rand) string {
	alphabet := []string{"a", "B", "7", " ", "+", "%", "/", "=", "&", ";", "\"", ",", "é", "*", "~"}
	var b strings.Builder
	for i := r.IntN(16); i >= 0; i-- {
		b.WriteString(alphabet[r.IntN(len(alphabet))])
	}
	return strings.TrimSpace(b.String()) + "v"
}

// documentHeaders are every request header of the user's Initiate Multipart Upload document.
var documentHeaders = []string{
	"Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Type", "Expires",
	"X-Cos-Meta-Example-Field", "X-Cos-Meta-A1", "X-Cos-Storage-Class", "X-Cos-Tagging", "X-Cos-Forbid-Overwrite",
	"X-Cos-Acl", "X-Cos-Grant-Read", "X-Cos-Grant-Read-Acp", "X-Cos-Grant-Write-Acp", "X-Cos-Grant-Full-Control",
	"X-Cos-Server-Side-Encryption", "X-Cos-Server-Side-Encryption-Cos-Kms-Key-Id", "X-Cos-Server-Side-Encryption-Context",
	"X-Cos-Server-Side-Encryption-Customer-Algorithm", "X-Cos-Server-Side-Encryption-Customer-Key",
	"X-Cos-Server-Side-Encryption-Customer-Key-Md5", "Content-Length", "Date", "User-Agent",
}

// TestSignMatchesSDK signs thousands of random requests both ways; the SDK is the oracle.
func TestSignMatchesSDK(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const host = "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com"
	for i := 0; i < 3000; i++ {
		key := randomKey(r)
		start := time.Unix(1700000000+r.Int64N(1e8), 0)
		end := start.Add(time.Duration(1+r.IntN(7200)) * time.Second)
		method := []string{"POST", "PUT", "GET", "DELETE"}[r.IntN(4)]
		u := "https://" + host + "/" + EscapePath(key)
		q := url.Values{}
		switch r.IntN(3) {
		case 0:
			q.Set("uploads", "")
		case 1:
			q.Set("uploadId", randomValue(r))
			q.Set("partNumber", strconv.Itoa(1+r.IntN(10000)))
		}
		if len(q) > 0 {
			u += "?" + q.Encode()
		}
		req, err := http.NewRequest(method, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range documentHeaders {
			if r.IntN(2) == 0 {
				req.Header.Set(h, randomValue(r))
			}
		}
		token := ""
		if r.IntN(2) == 0 {
			token = randomValue(r)
			req.Header.Set(TokenHeader, token)
		}
		cred := Credentials{"AKID" + strconv.Itoa(i), randomValue(r), token}

		got := Sign(cred.SecretKey, KeyTime(start, end), Request{
			Method: method, Path: req.URL.Path, Params: req.URL.Query(),
			Headers: SignableHeaders(req.Header, host),
		}).Authorization(cred.SecretID)

		cos.AddAuthorizationHeader(cred.SecretID, cred.SecretKey, token, req,
			&cos.AuthTime{SignStartTime: start, SignEndTime: end, KeyStartTime: start, KeyEndTime: end})
		if want := req.Header.Get("Authorization"); got != want {
			t.Fatalf("key %q method %s headers %v:\n got %s\nwant %s", key, method, req.Header, got, want)
		}
	}
}

// TestPartPresignerMatchesSDK compares whole part URLs with the SDK's GetPresignedURL, one
// at a time and in batches.
func TestPartPresignerMatchesSDK(t *testing.T) {
	testPartPresignerMatchesSDK(t)
}

func testPartPresignerMatchesSDK(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const host = "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com"
	base, _ := url.Parse("https://" + host)
	client := cos.NewClient(&cos.BaseURL{BucketURL: base}, nil)
	for i := 0; i < 1000; i++ {
		key := randomKey(r)
		uploadID := strconv.FormatUint(r.Uint64(), 16) + randomValue(r)
		token := ""
		if i%3 != 0 {
			token = randomValue(r)
		}
		cred := Credentials{"AKID" + strconv.Itoa(i), randomValue(r), token}
		start := time.Unix(1700000000+r.Int64N(1e8), 0)
		end := start.Add(time.Hour)
		signLen := i%2 == 0
		var extra http.Header
		if i%5 == 0 {
			extra = http.Header{
				"X-Cos-Server-Side-Encryption-Customer-Algorithm": {"AES256"},
				"X-Cos-Server-Side-Encryption-Customer-Key-Md5":   {"U5L61r7jcwdNvT7frmUG8g=="},
			}
		}
		p, err := NewPartPresigner(cred, PartOptions{
			Endpoint: "https://" + host, Host: host, Key: key, UploadID: uploadID,
			KeyTime: KeyTime(start, end), SignContentLength: signLen, Headers: extra,
		})
		if err != nil {
			t.Fatal(err)
		}
		// Six parts of varied digit widths and sizes, consecutive and not, as plans have them.
		var parts []Part
		var wants []string
		for j := 0; j < 6; j++ {
			var n int
			var size int64
			switch j {
			case 0, 1: // same widths, different numbers and sizes
				n, size = 1000+r.IntN(9000), 1e9+r.Int64N(4e9)
			case 2:
				n, size = 1+r.IntN(9998), r.Int64N(5<<30)
			case 3: // the next part of the same size, as most of a plan
				n, size = parts[2].Number+1, parts[2].Size
			case 4:
				n, size = 1+r.IntN(10000), r.Int64N(5<<30)
			case 5: // other widths
				n, size = r.IntN(10), r.Int64N(1000)
			}
			q := url.Values{"partNumber": {strconv.Itoa(n)}, "uploadId": {uploadID}}
			h := http.Header{}
			for k, v := range extra {
				h[k] = v
			}
			if signLen {
				h.Set("Content-Length", strconv.FormatInt(size, 10))
			}
			want, err := client.Object.GetPresignedURL(context.Background(), http.MethodPut, key,
				cred.SecretID, cred.SecretKey, time.Hour, &cos.PresignedURLOptions{
					Query: &q, Header: &h,
					AuthTime: &cos.AuthTime{SignStartTime: start, SignEndTime: end, KeyStartTime: start, KeyEndTime: end},
				})
			if err != nil {
				t.Fatal(err)
			}
			// The SDK signs the request without the token; ours carries it unsigned, right
			// after the upload id.
			if token != "" {
				q := want.Query()
				want.RawQuery = strings.Replace(want.RawQuery, "&q-sign-algorithm=",
					"&"+TokenHeader+"="+url.QueryEscape(token)+"&q-sign-algorithm=", 1)
				if q.Has(TokenHeader) {
					t.Fatal("the SDK signed no token here")
				}
			}
			if got := p.URL(n, size); got != want.String() {
				t.Fatalf("key %q part %d size %d:\n got %s\nwant %s", key, n, size, got, want)
			}
			parts, wants = append(parts, Part{n, size}), append(wants, want.String())
		}
		// The batch form signs the same bytes as one URL at a time.
		for j, got := range p.URLs(parts) {
			if got != wants[j] {
				t.Fatalf("URLs[%d] of key %q:\n got %s\nwant %s", j, key, got, wants[j])
			}
		}
	}
}

func BenchmarkPartPresigner10000(b *testing.B) {
	p, err := NewPartPresigner(Credentials{"AKIDEXAMPLE", "SECRETKEY", strings.Repeat("T", 300)}, PartOptions{
		Endpoint: "https://examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com",
		Host:     "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com",
		Key:      "uploads/2026/abcdef/video file.mp4", UploadID: "1585130821cbb7df1d11846c073ad648e8f33b087cec2381df437acdc833cf654b9ecc6361",
		KeyTime: KeyTime(vecStart, vecEnd), SignContentLength: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	parts := make([]Part, 10000)
	for i := range parts {
		parts[i] = Part{Number: i + 1, Size: 8 << 20}
	}
	b.Run("urls", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = p.URLs(parts)
		}
	})
	// The compact form's: the signatures alone, hex, in one string.
	b.Run("signatures", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = p.Signatures(parts)
		}
	})
	// The hashing alone (SHA-1 of each HttpString, then the HMAC): the floor of this
	// approach on the machine, without writing the URL text.
	b.Run("signatures-only", func(b *testing.B) {
		var sum [20]byte
		for b.Loop() {
			for _, part := range parts {
				p.sign(part.Number, part.Size, &sum)
			}
		}
	})
}

func BenchmarkSDKPresign10000(b *testing.B) {
	base, _ := url.Parse("https://examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com")
	client := cos.NewClient(&cos.BaseURL{BucketURL: base}, nil)
	at := &cos.AuthTime{SignStartTime: vecStart, SignEndTime: vecEnd, KeyStartTime: vecStart, KeyEndTime: vecEnd}
	token := strings.Repeat("T", 300)
	b.ReportAllocs()
	for b.Loop() {
		for n := 1; n <= 10000; n++ {
			q := url.Values{"partNumber": {strconv.Itoa(n)}, "uploadId": {"1585130821cbb7df1d11846c073ad648e8f33b087cec2381df437acdc833cf654b9ecc6361"}, TokenHeader: {token}}
			h := http.Header{"Content-Length": {strconv.Itoa(8 << 20)}}
			if _, err := client.Object.GetPresignedURL(context.Background(), http.MethodPut, "uploads/2026/abcdef/video file.mp4",
				"AKIDEXAMPLE", "SECRETKEY", time.Hour, &cos.PresignedURLOptions{Query: &q, Header: &h, AuthTime: at}); err != nil {
				b.Fatal(err)
			}
		}
	}
}
