package credentials

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/directup/directup/shared/cloudfakes"
)

// keyless wires the AWS and Tencent stand-ins the way a Lambda function on COS would be:
// AWS role credentials in the environment, no Tencent key anywhere.
func keyless(t *testing.T) (*cloudfakes.AWS, *cloudfakes.Tencent, *WebIdentity) {
	a := cloudfakes.NewAWS(t)
	for k, v := range a.Env() {
		t.Setenv(k, v)
	}
	for _, k := range []string{"TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN"} {
		t.Setenv(k, "")
	}
	tc := cloudfakes.NewTencent(t, a)
	w := &WebIdentity{Token: &AWSIdentityToken{Audience: "sts.tencentcloudapi.com"}, ProviderID: tc.ProviderID,
		RoleARN: tc.RoleARN, SessionName: "directup", Duration: time.Hour, Region: "ap-guangzhou",
		Endpoint: strings.TrimPrefix(tc.URL, "http://"), Scheme: "HTTP"}
	return a, tc, w
}

// One exchange serves many calls until the keys near their expiry; AWS is asked for a
// one-audience RS256 token living 60 s, signed with the role's own credentials (the
// stand-in recomputes the SigV4 signature), and Tencent STS is called unsigned with the
// provider, role and session, and checks the JWT against the issuer's JWKS.
func TestWebIdentityExchangeAndCache(t *testing.T) {
	a, tc, w := keyless(t)
	now := time.Now()
	var mu sync.Mutex
	w.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	for i := 0; i < 5; i++ {
		v, err := w.Retrieve(context.Background())
		if err != nil || v.AccessKeyID != "AKIDWEBID1" || v.SessionToken != "webid-token-1" {
			t.Fatalf("Retrieve #%d: %+v %v", i, v, err)
		}
	}
	ac, tcc := a.Calls(), tc.Calls()
	if len(ac) != 1 || len(tcc) != 1 {
		t.Fatalf("%d AWS and %d Tencent calls for five retrievals, want one each", len(ac), len(tcc))
	}
	if p := ac[0].Params; ac[0].Action != "GetWebIdentityToken" || p["Audience.member.1"] != "sts.tencentcloudapi.com" ||
		p["SigningAlgorithm"] != "RS256" || p["DurationSeconds"] != "60" || p["Version"] != "2011-06-15" {
		t.Errorf("AWS STS was asked %+v", ac[0])
	}
	h, p := tcc[0].Header, tcc[0].Params
	if h.Get("Authorization") != "SKIP" || h.Get("X-TC-Token") != "" || h.Get("X-TC-Version") != "2018-08-13" ||
		p["ProviderId"] != tc.ProviderID || p["RoleArn"] != tc.RoleARN || p["RoleSessionName"] != "directup" ||
		p["DurationSeconds"] != float64(3600) || p["WebIdentityToken"] == "" {
		t.Errorf("Tencent STS was asked %v %v", h, p)
	}
	mu.Lock()
	now = now.Add(2 * time.Hour) // past the keys' expiry
	mu.Unlock()
	if v, err := w.Retrieve(context.Background()); err != nil || v.AccessKeyID != "AKIDWEBID2" || len(a.Calls()) != 2 {
		t.Fatalf("refresh: %+v %v", v, err)
	}
	w.Invalidate()
	if v, err := w.Retrieve(context.Background()); err != nil || v.AccessKeyID != "AKIDWEBID3" {
		t.Fatalf("after Invalidate: %+v %v", v, err)
	}
}

type fixedToken string

func (f fixedToken) Token(context.Context) (string, error) { return string(f), nil }

// What an outsider might try at Tencent STS, each refused there, and the refusal is the
// provider's error (no keys, nothing cached): a token for another audience, one about
// another subject, an expired (replayed) one, one signed with a key CAM's copy of the
// JWKS lacks, and an exchange the provider refuses outright.
func TestWebIdentityRefusals(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(a *cloudfakes.AWS, tc *cloudfakes.Tencent, w *WebIdentity)
	}{
		{"another audience", func(a *cloudfakes.AWS, tc *cloudfakes.Tencent, w *WebIdentity) {
			w.Token = &AWSIdentityToken{Audience: "sts.other.example"}
		}},
		{"another subject", func(a *cloudfakes.AWS, tc *cloudfakes.Tencent, w *WebIdentity) {
			a.Subject = "arn:aws:iam::123456789012:role/someone-else"
		}},
		{"expired replay", func(a *cloudfakes.AWS, tc *cloudfakes.Tencent, w *WebIdentity) {
			old, err := (&AWSIdentityToken{Audience: "sts.tencentcloudapi.com"}).Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			w.Token = fixedToken(old)
			tc.Now = func() time.Time { return time.Now().Add(2 * time.Minute) }
		}},
		{"rotated signing key", func(a *cloudfakes.AWS, tc *cloudfakes.Tencent, w *WebIdentity) { a.RotateSigningKey() }},
		{"provider refuses", func(a *cloudfakes.AWS, tc *cloudfakes.Tencent, w *WebIdentity) { tc.Refuse = true }},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, tc, w := keyless(t)
			c.setup(a, tc, w)
			v, err := w.Retrieve(context.Background())
			if err == nil || !strings.Contains(err.Error(), "InvalidParameter.WebIdentityTokenError") || v.AccessKeyID != "" ||
				!strings.Contains(err.Error(), tc.RoleARN) {
				t.Fatalf("%+v %v", v, err)
			}
			if w.cached.AccessKeyID != "" {
				t.Fatal("a refusal was cached as keys")
			}
		})
	}
}

// The CAM provider's JWKS copy updated after AWS rotated its key: the exchange works again.
func TestWebIdentityAfterJWKSUpdate(t *testing.T) {
	a, tc, w := keyless(t)
	a.RotateSigningKey()
	tc.CopyJWKS(t, a)
	if _, err := w.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
}
