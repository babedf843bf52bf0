package credentials

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestEnvReadsEveryCall(t *testing.T) {
	env := map[string]string{"TENCENTCLOUD_SECRETID": "id1", "TENCENTCLOUD_SECRETKEY": "key1", "TENCENTCLOUD_SESSIONTOKEN": "tok1"}
	p := SCFRole()
	p.Getenv = func(k string) string { return env[k] }
	v, err := p.Retrieve(context.Background())
	if err != nil || v.AccessKeyID != "id1" || v.SessionToken != "tok1" {
		t.Fatalf("%+v %v", v, err)
	}
	// A warm instance receives fresh role credentials: the next call must see them.
	env["TENCENTCLOUD_SECRETID"], env["TENCENTCLOUD_SESSIONTOKEN"] = "id2", "tok2"
	if v, _ := p.Retrieve(context.Background()); v.AccessKeyID != "id2" || v.SessionToken != "tok2" {
		t.Fatalf("stale credentials %+v", v)
	}
	delete(env, "TENCENTCLOUD_SECRETKEY")
	if _, err := p.Retrieve(context.Background()); !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "TENCENTCLOUD_SECRETKEY") {
		t.Fatalf("missing key: %v", err)
	}
}

// fakeSTS answers AssumeRole like Tencent STS and records what it was asked.
func fakeSTS(t *testing.T, calls *atomic.Int32, expires func() int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		var req struct {
			RoleArn, RoleSessionName string
			DurationSeconds          int
		}
		json.Unmarshal(body, &req)
		if r.Header.Get("X-TC-Action") != "AssumeRole" || !strings.Contains(r.Header.Get("Authorization"), "Credential=BASEID/") ||
			r.Header.Get("X-TC-Token") != "BASETOKEN" || req.RoleArn != "qcs::cam::uin/100:roleName/uploader" ||
			req.RoleSessionName != "directup" || req.DurationSeconds != 3600 {
			t.Errorf("unexpected STS call: %v %s", r.Header, body)
		}
		fmt.Fprintf(w, `{"Response":{"Credentials":{"Token":"TMPTOKEN%d","TmpSecretId":"TMPID%d","TmpSecretKey":"TMPKEY"},"ExpiredTime":%d,"Expiration":"x","RequestId":"r"}}`, n, n, expires())
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestAssumeRoleCachesAndRefreshes(t *testing.T) {
	var calls atomic.Int32
	now := time.Unix(1_800_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv := fakeSTS(t, &calls, func() int64 { return clock().Add(time.Hour).Unix() })
	ar := &AssumeRole{
		Base:    Static{AccessKeyID: "BASEID", SecretAccessKey: "BASEKEY", SessionToken: "BASETOKEN"},
		RoleARN: "qcs::cam::uin/100:roleName/uploader", SessionName: "directup", Duration: time.Hour,
		Region: "ap-guangzhou", Endpoint: strings.TrimPrefix(srv.URL, "http://"), Scheme: "HTTP", Now: clock,
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := ar.Retrieve(context.Background())
			if err != nil || v.AccessKeyID != "TMPID1" || v.SessionToken != "TMPTOKEN1" || !v.Expires.Equal(now.Add(time.Hour)) {
				t.Errorf("%+v %v", v, err)
			}
		}()
	}
	wg.Wait()
	if calls.Load() != 1 {
		t.Fatalf("%d STS calls for concurrent first use, want 1", calls.Load())
	}
	mu.Lock()
	now = now.Add(56 * time.Minute) // inside the 5-minute refresh margin
	mu.Unlock()
	v, err := ar.Retrieve(context.Background())
	if err != nil || v.AccessKeyID != "TMPID2" || calls.Load() != 2 {
		t.Fatalf("refresh: %+v %v after %d calls", v, err, calls.Load())
	}
	ar.Invalidate() // COS said they expired early
	if v, err := ar.Retrieve(context.Background()); err != nil || v.AccessKeyID != "TMPID3" {
		t.Fatalf("after Invalidate: %+v %v", v, err)
	}
}

func TestAssumeRoleError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"Response":{"Error":{"Code":"AuthFailure.SecretIdNotFound","Message":"no such key"},"RequestId":"r1"}}`)
	}))
	defer srv.Close()
	ar := &AssumeRole{Base: Static{AccessKeyID: "BASEID", SecretAccessKey: "K"}, RoleARN: "qcs::cam::uin/1:roleName/x",
		SessionName: "s", Region: "ap-guangzhou", Endpoint: strings.TrimPrefix(srv.URL, "http://"), Scheme: "HTTP"}
	_, err := ar.Retrieve(context.Background())
	if err == nil || !strings.Contains(err.Error(), "AuthFailure.SecretIdNotFound") || strings.Contains(err.Error(), "BASEKEY") {
		t.Fatalf("err = %v", err)
	}
}

// Scoped keys: AssumeRole with the inline policy, URL-encoded as Tencent documents, and the
// asked lifetime; never cached.
func TestAssumeRoleScoped(t *testing.T) {
	policy := `{"version":"2.0","statement":[{"effect":"allow","action":["name/cos:UploadPart"],"resource":["qcs::cos:ap-guangzhou:uid/1250000000:b-1250000000/uploads/k"]}]}`
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		var req struct {
			RoleArn, RoleSessionName, Policy string
			DurationSeconds                  int
		}
		json.Unmarshal(body, &req)
		decoded, _ := url.QueryUnescape(req.Policy)
		if r.Header.Get("X-TC-Action") != "AssumeRole" || r.Header.Get("X-TC-Version") != "2018-08-13" ||
			req.RoleArn != "qcs::cam::uin/100:roleName/uploader" || req.DurationSeconds != 1800 || decoded != policy || req.Policy == policy {
			t.Errorf("unexpected STS call: %v %s", r.Header, body)
		}
		fmt.Fprintf(w, `{"Response":{"Credentials":{"Token":"T%d","TmpSecretId":"ID%d","TmpSecretKey":"K"},"ExpiredTime":1800001800,"Expiration":"2027-01-15T08:50:00Z","RequestId":"req-%d"}}`, n, n, n)
	}))
	defer srv.Close()
	ar := &AssumeRole{Base: Static{AccessKeyID: "BASEID", SecretAccessKey: "BASEKEY", SessionToken: "BASETOKEN"},
		RoleARN: "qcs::cam::uin/100:roleName/uploader", SessionName: "directup", Region: "ap-guangzhou",
		Endpoint: strings.TrimPrefix(srv.URL, "http://"), Scheme: "HTTP"}
	for i := 1; i <= 2; i++ {
		v, rid, err := ar.Scoped(context.Background(), policy, 30*time.Minute)
		if err != nil || v.AccessKeyID != fmt.Sprintf("ID%d", i) || v.SessionToken != fmt.Sprintf("T%d", i) || rid != fmt.Sprintf("req-%d", i) ||
			!v.Expires.Equal(time.Unix(1800001800, 0)) {
			t.Fatalf("Scoped #%d = %+v %q %v", i, v, rid, err)
		}
	}
}
