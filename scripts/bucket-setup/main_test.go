package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	cos "github.com/tencentyun/cos-go-sdk-v5"
)

func TestSetup(t *testing.T) {
	bodies := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPut || r.Header.Get("Authorization") == "" {
			t.Errorf("%s %s unsigned", r.Method, r.URL)
		}
		bodies[r.URL.RawQuery] = string(b)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	c := cos.NewClient(&cos.BaseURL{BucketURL: u}, &http.Client{Transport: &cos.AuthorizationTransport{SecretID: "id", SecretKey: "key"}})
	err := setup(context.Background(), c, options{origins: []string{"https://app.example"}, prefix: "uploads/", abortDays: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<AllowedOrigin>https://app.example</AllowedOrigin>", "<ExposeHeader>ETag</ExposeHeader>",
		"<ExposeHeader>x-cos-hash-crc64ecma</ExposeHeader>", "<AllowedMethod>PUT</AllowedMethod>", "<AllowedHeader>*</AllowedHeader>"} {
		if !strings.Contains(bodies["cors"], want) {
			t.Errorf("CORS body lacks %s: %s", want, bodies["cors"])
		}
	}
	for _, want := range []string{"<Prefix>uploads/</Prefix>", "<Status>Enabled</Status>",
		"<AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload>"} {
		if !strings.Contains(bodies["lifecycle"], want) {
			t.Errorf("lifecycle body lacks %s: %s", want, bodies["lifecycle"])
		}
	}
}

func TestPolicy(t *testing.T) {
	js, err := policy(options{bucket: "examplebucket-1250000000", region: "ap-guangzhou", prefix: "uploads/"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js, `"qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/uploads/*"`) ||
		strings.Count(js, "name/cos:") != 14 || !strings.Contains(js, "name/cos:PostObject") || !strings.Contains(js, "name/cos:DeleteObject") || !strings.Contains(js, "name/cos:ListMultipartUploads") || !strings.Contains(js, "name/cos:HeadObject") || strings.Contains(js, "cos:*") ||
		!strings.Contains(js, `examplebucket-1250000000/uploads/.directup/*"`) {
		t.Errorf("policy %s", js)
	}
}

func TestPolicyForSTS(t *testing.T) {
	js, err := policy(options{bucket: "examplebucket-1250000000", region: "ap-guangzhou", prefix: "uploads/", sts: true})
	if err != nil || strings.Count(js, "name/cos:PutObject") != 2 {
		t.Errorf("policy %s", js)
	}
}
