package secrets

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/directup/directup/shared/cloudfakes"
	"github.com/directup/directup/shared/credentials"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Ref
		bad  string
	}{
		{in: "aws-secretsmanager:prod/directup", want: Ref{Store: AWSSecretsManager, Name: "prod/directup"}},
		{in: "aws-ssm:/directup/token#upload", want: Ref{Store: AWSSSM, Name: "/directup/token", Key: "upload"}},
		{in: "tencent-ssm:directup-token", want: Ref{Store: TencentSSM, Name: "directup-token"}},
		{in: "arn:aws:secretsmanager:eu-west-1:1:secret:x", bad: "unknown store"},
		{in: "vault:x", bad: "unknown store"},
		{in: "aws-ssm:", bad: "must be"},
		{in: "aws-ssm:name#", bad: "must be"},
		{in: "plain-value-without-colon", bad: "must be"},
		{in: "aws-ssm:a b", bad: "white space"},
	} {
		got, err := Parse(c.in)
		if c.bad != "" {
			if err == nil || !strings.Contains(err.Error(), c.bad) {
				t.Errorf("Parse(%q) = %v, %v; want an error with %q", c.in, got, err, c.bad)
			}
			continue
		}
		if err != nil || got != c.want || got.String() != c.in {
			t.Errorf("Parse(%q) = %+v, %v", c.in, got, err)
		}
	}
}

// awsEnv points the AWS SDK at the stand-in, as the Lambda runtime's variables would.
func awsEnv(t *testing.T, a *cloudfakes.AWS) {
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
	}
	for k, v := range a.Env() {
		t.Setenv(k, v)
	}
}

// Each store, read through its official SDK: the request is signed with the role's
// credentials (the stand-ins recompute the signature), names the secret and, for SSM,
// asks for decryption; a JSON key picks one field.
func TestReadEachStore(t *testing.T) {
	a := cloudfakes.NewAWS(t)
	awsEnv(t, a)
	tc := cloudfakes.NewTencent(t, nil)
	a.SetSecret("prod/directup", "sm-value-0123456789abcdef0123456789")
	a.SetSecret("prod/json", `{"upload":"json-field-0123456789abcdef0123","other":"x"}`)
	a.SetParameter("/directup/token", "ssm-value-0123456789abcdef012345")
	tc.SetSecret("directup-token", "tc-value-0123456789abcdef0123456789")
	readers := Readers{AWSSecretsManager: SecretsManager(), AWSSSM: ParameterStore(),
		TencentSSM: &TencentSSMReader{Creds: credentials.Static{AccessKeyID: tc.SecretID, SecretAccessKey: tc.SecretKey, SessionToken: tc.Token},
			Region: "ap-guangzhou", Endpoint: tc.URL}}
	for _, c := range []struct{ ref, want, action string }{
		{"aws-secretsmanager:prod/directup", "sm-value-0123456789abcdef0123456789", "secretsmanager.GetSecretValue"},
		{"aws-secretsmanager:prod/json#upload", "json-field-0123456789abcdef0123", "secretsmanager.GetSecretValue"},
		{"aws-ssm:/directup/token", "ssm-value-0123456789abcdef012345", "AmazonSSM.GetParameter"},
		{"tencent-ssm:directup-token", "tc-value-0123456789abcdef0123456789", "GetSecretValue"},
	} {
		ref, _ := Parse(c.ref)
		s := &Secret{Setting: "UPLOAD_TOKEN_SECRET", Ref: ref, Reader: readers[ref.Store]}
		got, prev, err := s.Value(context.Background())
		if err != nil || got != c.want || prev != "" {
			t.Errorf("%s: %q %q %v", c.ref, got, prev, err)
		}
	}
	// A first read of a Secrets Manager secret also asks for AWSPREVIOUS (none here: never
	// rotated); a parameter's first version has no previous to ask for.
	calls := a.Calls()
	if len(calls) != 5 || calls[0].Params["SecretId"] != "prod/directup" || calls[1].Params["VersionStage"] != "AWSPREVIOUS" ||
		calls[4].Params["Name"] != "/directup/token" || calls[4].Params["WithDecryption"] != true ||
		calls[0].Action != "secretsmanager.GetSecretValue" || calls[4].Action != "AmazonSSM.GetParameter" {
		t.Errorf("AWS calls: %+v", calls)
	}
	tcCalls := tc.Calls() // the read, then (first use) the list of versions
	if len(tcCalls) != 2 || tcCalls[1].Action != "ListSecretVersionIds" || tcCalls[0].Params["SecretName"] != "directup-token" || tcCalls[0].Params["VersionId"] != "SSM_Current" ||
		tcCalls[0].Header.Get("X-TC-Version") != "2019-09-23" {
		t.Errorf("Tencent calls: %+v", tcCalls)
	}
}

// A store that cannot be read, or a secret not there: the error names the setting and
// the reference; a value never appears in one (even from a JSON secret without the key).
func TestReadErrorsNameTheReferenceNotTheValue(t *testing.T) {
	a := cloudfakes.NewAWS(t)
	awsEnv(t, a)
	const value = `{"other":"do-not-leak-0123456789abcdef"}`
	a.SetSecret("prod/json", value)
	tc := cloudfakes.NewTencent(t, nil)
	tc.SetSecret("tc", "tencent-do-not-leak-0123456789")
	for _, c := range []struct {
		ref    string
		reader Reader
		why    string
	}{
		{"aws-secretsmanager:prod/missing", SecretsManager(), "ResourceNotFoundException"},
		{"aws-secretsmanager:prod/json#upload", SecretsManager(), "no string field upload"},
		{"aws-ssm:/nope", ParameterStore(), "ParameterNotFound"},
		// Wrong key: the stand-in refuses the signature.
		{"tencent-ssm:tc", &TencentSSMReader{Creds: credentials.Static{AccessKeyID: tc.SecretID, SecretAccessKey: "wrong", SessionToken: tc.Token},
			Endpoint: tc.URL}, "AuthFailure.SignatureFailure"},
		{"tencent-ssm:tc", &TencentSSMReader{Creds: credentials.Static{AccessKeyID: "x", SecretAccessKey: "y"}, Endpoint: "http://127.0.0.1:1"}, "tencent-ssm:tc"},
	} {
		ref, _ := Parse(c.ref)
		s := &Secret{Setting: "HOOK_SECRET", Ref: ref, Reader: c.reader}
		_, _, err := s.Value(context.Background())
		if err == nil || !strings.Contains(err.Error(), "HOOK_SECRET_FROM="+c.ref) || !strings.Contains(err.Error(), c.why) ||
			strings.Contains(err.Error(), "do-not-leak") || strings.Contains(err.Error(), "wrong") {
			t.Errorf("%s: %v", c.ref, err)
		}
	}
}

type countingReader struct {
	mu    sync.Mutex
	value string
	reads int
}

func (c *countingReader) Read(context.Context, string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	return c.value, nil
}

// The value is read once per TTL (concurrent callers share one read); after the TTL a
// changed value is current and the one it replaced is kept as the previous value.
func TestTTLAndRotation(t *testing.T) {
	r := &countingReader{value: "first-value-0123456789abcdef01234"}
	now := time.Unix(1_800_000_000, 0)
	var mu sync.Mutex
	s := &Secret{Setting: "UPLOAD_TOKEN_SECRET", Ref: Ref{Store: AWSSSM, Name: "n"}, Reader: r, TTL: time.Minute,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); s.Value(context.Background()) }()
	}
	wg.Wait()
	if r.reads != 1 {
		t.Fatalf("%d reads for concurrent first use", r.reads)
	}
	r.mu.Lock()
	r.value = "second-value-0123456789abcdef0123"
	r.mu.Unlock()
	mu.Lock()
	now = now.Add(59 * time.Second)
	mu.Unlock()
	if cur, _, _ := s.Value(context.Background()); cur != "first-value-0123456789abcdef01234" || r.reads != 1 {
		t.Fatalf("within the TTL: %q after %d reads", cur, r.reads)
	}
	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	cur, prev, err := s.Value(context.Background())
	if err != nil || cur != "second-value-0123456789abcdef0123" || prev != "first-value-0123456789abcdef01234" || r.reads != 2 {
		t.Fatalf("after the TTL: %q %q %v after %d reads", cur, prev, err, r.reads)
	}
	// The same value read again keeps the previous one (a refresh is not a rotation).
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	if cur, prev, _ := s.Value(context.Background()); cur != "second-value-0123456789abcdef0123" || prev != "first-value-0123456789abcdef01234" {
		t.Fatalf("unchanged refresh: %q %q", cur, prev)
	}
}
