package credentials

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	sts "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/sts/v20180813"
)

// TokenSource returns a web identity token (a JWT) for one exchange.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// WebIdentity gets a Tencent role's temporary keys holding no Tencent key at all: a web
// identity token from Token is exchanged at Tencent STS AssumeRoleWithWebIdentity (an
// unsigned call: the token is the proof), and the keys are cached until shortly before
// they expire, as AssumeRole's are.
type WebIdentity struct {
	Token       TokenSource
	ProviderID  string // the CAM OIDC identity provider's name
	RoleARN     string
	SessionName string
	Duration    time.Duration // STS defaults to 2h
	Region      string
	Endpoint    string // host[:port]; sts.tencentcloudapi.com when empty
	Scheme      string // HTTPS when empty
	Refresh     time.Duration
	Now         func() time.Time

	cache // Invalidate (Invalidator) drops the set, so the next Retrieve exchanges again
}

// Retrieve implements Provider. Concurrent callers share one exchange.
func (w *WebIdentity) Retrieve(ctx context.Context) (Value, error) {
	return w.get(w.Now, w.Refresh, func() (Value, error) { return w.exchange(ctx) })
}

func (w *WebIdentity) exchange(ctx context.Context) (Value, error) {
	jwt, err := w.Token.Token(ctx)
	if err != nil {
		return Value{}, fmt.Errorf("credentials: web identity token: %w", err)
	}
	cpf := profile.NewClientProfile()
	if w.Endpoint != "" {
		cpf.HttpProfile.Endpoint = w.Endpoint
	}
	if w.Scheme != "" {
		cpf.HttpProfile.Scheme = w.Scheme
	}
	if dl, ok := ctx.Deadline(); ok {
		cpf.HttpProfile.ReqTimeout = max(1, int(time.Until(dl).Seconds()))
	}
	client, err := sts.NewClient(nil, w.Region, cpf) // no credential: the call is not signed
	if err != nil {
		return Value{}, fmt.Errorf("credentials: sts client: %w", err)
	}
	req := sts.NewAssumeRoleWithWebIdentityRequest()
	req.SetSkipSign(true)
	req.ProviderId = common.StringPtr(w.ProviderID)
	req.WebIdentityToken = common.StringPtr(jwt)
	req.RoleArn = common.StringPtr(w.RoleARN)
	req.RoleSessionName = common.StringPtr(w.SessionName)
	if w.Duration > 0 {
		req.DurationSeconds = common.Int64Ptr(int64(w.Duration / time.Second))
	}
	resp, err := client.AssumeRoleWithWebIdentityWithContext(ctx, req)
	if err != nil {
		return Value{}, fmt.Errorf("credentials: AssumeRoleWithWebIdentity %s (provider %s): %w", w.RoleARN, w.ProviderID, err)
	}
	r := resp.Response
	if r == nil || r.Credentials == nil || r.Credentials.TmpSecretId == nil || r.Credentials.TmpSecretKey == nil || r.ExpiredTime == nil {
		return Value{}, fmt.Errorf("credentials: AssumeRoleWithWebIdentity %s: incomplete answer", w.RoleARN)
	}
	v := Value{AccessKeyID: *r.Credentials.TmpSecretId, SecretAccessKey: *r.Credentials.TmpSecretKey,
		Expires: time.Unix(int64(*r.ExpiredTime), 0)}
	if r.Credentials.Token != nil {
		v.SessionToken = *r.Credentials.Token
	}
	// Temporary keys come with a session token and a future end: anything else would go
	// to COS as it is, or be exchanged again on every call.
	if v.AccessKeyID == "" || v.SecretAccessKey == "" || v.SessionToken == "" || !v.Expires.After(time.Now().Add(time.Minute)) {
		return Value{}, fmt.Errorf("credentials: AssumeRoleWithWebIdentity %s: an answer without usable keys (empty, no token, or expired)", w.RoleARN)
	}
	return v, nil
}

// AWSIdentityToken asks AWS STS GetWebIdentityToken (outbound identity federation) for a
// JWT about the function's own role: one audience, RS256, living Duration (60 s when 0,
// the shortest STS gives: the token is used at once, and a copy is worth little). The
// SDK is configured from the environment (the Lambda role's credentials, AWS_REGION, a
// regional endpoint; AWS_ENDPOINT_URL_STS overrides it), on first use.
// The client's own retries and timeouts are the SDK's defaults.
type AWSIdentityToken struct {
	Audience string
	Duration time.Duration

	mu     sync.Mutex
	client *awssts.Client
}

// Token implements TokenSource.
func (t *AWSIdentityToken) Token(ctx context.Context) (string, error) {
	t.mu.Lock()
	if t.client == nil {
		t.client = awssts.New(awssts.Options{Region: AWSRegion(), Credentials: AWSSDK{Provider: AWSRole()},
			BaseEndpoint: AWSEndpoint("STS")})
	}
	c := t.client
	t.mu.Unlock()
	d := t.Duration
	if d == 0 {
		d = time.Minute
	}
	out, err := c.GetWebIdentityToken(ctx, &awssts.GetWebIdentityTokenInput{Audience: []string{t.Audience},
		SigningAlgorithm: aws.String("RS256"), DurationSeconds: aws.Int32(int32(d / time.Second))})
	if err != nil {
		return "", fmt.Errorf("GetWebIdentityToken: %w", err)
	}
	if out.WebIdentityToken == nil || *out.WebIdentityToken == "" {
		return "", errors.New("GetWebIdentityToken: no token in the answer")
	}
	return *out.WebIdentityToken, nil
}
