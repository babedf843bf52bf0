package credentials

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	sts "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/sts/v20180813"
)

// AssumeRole trades base credentials for a role's temporary ones through Tencent STS
// (the official SDK client), caching them until shortly before they expire.
type AssumeRole struct {
	Base        Provider
	RoleARN     string // qcs::cam::uin/<uin>:roleName/<name>
	SessionName string
	Duration    time.Duration // 15m..12h; STS defaults to 2h
	Region      string
	Endpoint    string // host[:port]; sts.tencentcloudapi.com when empty
	Scheme      string // HTTPS when empty
	// Refresh is how long before expiry a new set is fetched (default 5m).
	Refresh time.Duration
	Now     func() time.Time

	cache // Invalidate drops the set, so the next Retrieve asks STS again
}

// Retrieve implements Provider. Concurrent callers share one STS call.
func (a *AssumeRole) Retrieve(ctx context.Context) (Value, error) {
	return a.get(a.Now, a.Refresh, func() (Value, error) {
		v, _, err := a.assume(ctx, "", a.Duration)
		return v, err
	})
}

// Scoped asks STS for a one-off set of the role's keys narrowed by an inline policy (CAM
// JSON) and living ttl: what a client SDK is handed for one upload. It works from the SCF
// role's own temporary credentials, where GetFederationToken would need a permanent key.
// Nothing is cached. It returns STS's request id too.
func (a *AssumeRole) Scoped(ctx context.Context, policy string, ttl time.Duration) (Value, string, error) {
	return a.assume(ctx, policy, ttl)
}

func (a *AssumeRole) assume(ctx context.Context, policy string, ttl time.Duration) (Value, string, error) {
	base, err := a.Base.Retrieve(ctx)
	if err != nil {
		return Value{}, "", err
	}
	cpf := profile.NewClientProfile()
	if a.Endpoint != "" {
		cpf.HttpProfile.Endpoint = a.Endpoint
	}
	if a.Scheme != "" {
		cpf.HttpProfile.Scheme = a.Scheme
	}
	if dl, ok := ctx.Deadline(); ok {
		cpf.HttpProfile.ReqTimeout = max(1, int(time.Until(dl).Seconds()))
	}
	client, err := sts.NewClient(common.NewTokenCredential(base.AccessKeyID, base.SecretAccessKey, base.SessionToken), a.Region, cpf)
	if err != nil {
		return Value{}, "", fmt.Errorf("credentials: sts client: %w", err)
	}
	req := sts.NewAssumeRoleRequest()
	req.RoleArn = common.StringPtr(a.RoleARN)
	req.RoleSessionName = common.StringPtr(a.SessionName)
	if ttl > 0 {
		req.DurationSeconds = common.Uint64Ptr(uint64(ttl / time.Second))
	}
	if policy != "" {
		req.Policy = common.StringPtr(url.QueryEscape(policy)) // STS takes the policy URL-encoded
	}
	resp, err := client.AssumeRoleWithContext(ctx, req)
	if err != nil {
		return Value{}, "", fmt.Errorf("credentials: AssumeRole %s: %w", a.RoleARN, err)
	}
	r := resp.Response
	if r == nil || r.Credentials == nil || r.Credentials.TmpSecretId == nil || r.Credentials.TmpSecretKey == nil || r.ExpiredTime == nil {
		return Value{}, "", fmt.Errorf("credentials: AssumeRole %s: incomplete answer", a.RoleARN)
	}
	v := Value{
		AccessKeyID:     *r.Credentials.TmpSecretId,
		SecretAccessKey: *r.Credentials.TmpSecretKey,
		Expires:         time.Unix(int64(*r.ExpiredTime), 0),
	}
	if r.Credentials.Token != nil {
		v.SessionToken = *r.Credentials.Token
	}
	rid := ""
	if r.RequestId != nil {
		rid = *r.RequestId
	}
	return v, rid, nil
}
