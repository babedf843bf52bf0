package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/directup/directup/shared/credentials"
)

// lazy builds a client on first use (not at cold start) and keeps it; a failed build is
// tried again next time.
type lazy[T any] struct {
	mu     sync.Mutex
	client *T
	build  func(ctx context.Context) (*T, error)
}

func (l *lazy[T]) get(ctx context.Context) (*T, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.client == nil {
		c, err := l.build(ctx)
		if err != nil {
			return nil, err
		}
		l.client = c
	}
	return l.client, nil
}

// SecretsManager reads AWS Secrets Manager secrets (GetSecretValue, the AWSCURRENT
// version) with the Lambda role's credentials and AWS_REGION from the environment
// (AWS_ENDPOINT_URL_SECRETS_MANAGER, or AWS_ENDPOINT_URL, overrides the endpoint).
func SecretsManager() Reader {
	return &smReader{lazy: lazy[secretsmanager.Client]{build: func(context.Context) (*secretsmanager.Client, error) {
		return secretsmanager.New(secretsmanager.Options{Region: credentials.AWSRegion(),
			Credentials: credentials.AWSSDK{Provider: credentials.AWSRole()}, BaseEndpoint: credentials.AWSEndpoint("SECRETS_MANAGER")}), nil
	}}}
}

type smReader struct {
	lazy[secretsmanager.Client]
	current sync.Map // name -> readMeta of the last Read: Previous needs no second read of it
}

// readMeta is what a Read learnt of the current version besides its value.
type readMeta struct {
	since   time.Time
	version int64
}

func (r *smReader) Read(ctx context.Context, name string) (string, error) {
	c, err := r.get(ctx)
	if err != nil {
		return "", err
	}
	out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	if err != nil {
		return "", err
	}
	if out.CreatedDate != nil {
		r.current.Store(name, readMeta{since: *out.CreatedDate})
	}
	switch {
	case out.SecretString != nil:
		return *out.SecretString, nil
	case out.SecretBinary != nil:
		return string(out.SecretBinary), nil
	}
	return "", errors.New("the secret has no value")
}

// Previous implements Historian: the AWSPREVIOUS version's value, and when the
// AWSCURRENT one was created (the rotation).
func (r *smReader) Previous(ctx context.Context, name string) (string, time.Time, bool, error) {
	c, err := r.get(ctx)
	if err != nil {
		return "", time.Time{}, false, err
	}
	m, ok := r.current.Load(name)
	if !ok {
		return "", time.Time{}, false, nil // the store named no creation date
	}
	prev, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name), VersionStage: aws.String("AWSPREVIOUS")})
	var missing *smtypes.ResourceNotFoundException
	if errors.As(err, &missing) {
		return "", time.Time{}, false, nil // never rotated
	}
	if err != nil || prev.SecretString == nil {
		return "", time.Time{}, false, err
	}
	return *prev.SecretString, m.(readMeta).since, true, nil
}

// ParameterStore reads AWS Systems Manager parameters (GetParameter with decryption, so
// SecureString parameters come back in clear); AWS_ENDPOINT_URL_SSM overrides the endpoint.
func ParameterStore() Reader {
	return &ssmReader{lazy: lazy[ssm.Client]{build: func(context.Context) (*ssm.Client, error) {
		return ssm.New(ssm.Options{Region: credentials.AWSRegion(),
			Credentials: credentials.AWSSDK{Provider: credentials.AWSRole()}, BaseEndpoint: credentials.AWSEndpoint("SSM")}), nil
	}}}
}

type ssmReader struct {
	lazy[ssm.Client]
	current sync.Map // name -> readMeta of the last Read
}

func (r *ssmReader) Read(ctx context.Context, name string) (string, error) {
	c, err := r.get(ctx)
	if err != nil {
		return "", err
	}
	out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return "", err
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return "", errors.New("the parameter has no value")
	}
	if out.Parameter.LastModifiedDate != nil {
		r.current.Store(name, readMeta{since: *out.Parameter.LastModifiedDate, version: out.Parameter.Version})
	}
	return *out.Parameter.Value, nil
}

// Previous implements Historian: the version before the current one, and when the
// current one was written (the rotation).
func (r *ssmReader) Previous(ctx context.Context, name string) (string, time.Time, bool, error) {
	c, err := r.get(ctx)
	if err != nil {
		return "", time.Time{}, false, err
	}
	v, ok := r.current.Load(name)
	if !ok || v.(readMeta).version <= 1 {
		return "", time.Time{}, false, nil // the first version has no previous
	}
	m := v.(readMeta)
	prev, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(fmt.Sprintf("%s:%d", name, m.version-1)), WithDecryption: aws.Bool(true)})
	if err != nil || prev.Parameter == nil || prev.Parameter.Value == nil {
		return "", time.Time{}, false, err
	}
	return *prev.Parameter.Value, m.since, true, nil
}

// TencentSSM reads Tencent Cloud SSM secrets (GetSecretValue, version SSM_Current) with
// the function's role credentials, through the SDK's common client (its ssm package is
// not published as a module of its own). Endpoint, a URL, overrides
// ssm.tencentcloudapi.com (TENCENT_SSM_ENDPOINT).
type TencentSSMReader struct {
	Creds    credentials.Provider
	Region   string
	Endpoint string
}

// call sends one SSM action with the role's credentials and decodes its Response.
func (r *TencentSSMReader) call(ctx context.Context, action string, params map[string]any, out any) error {
	base, err := r.Creds.Retrieve(ctx)
	if err != nil {
		return err
	}
	cpf := profile.NewClientProfile()
	if r.Endpoint != "" {
		u, err := url.Parse(r.Endpoint)
		if err != nil || u.Host == "" {
			return errors.New("TENCENT_SSM_ENDPOINT: must be a URL")
		}
		cpf.HttpProfile.Endpoint, cpf.HttpProfile.Scheme = u.Host, strings.ToUpper(u.Scheme)
	}
	if dl, ok := ctx.Deadline(); ok {
		cpf.HttpProfile.ReqTimeout = max(1, int(time.Until(dl).Seconds()))
	}
	client := common.NewCommonClient(common.NewTokenCredential(base.AccessKeyID, base.SecretAccessKey, base.SessionToken), r.Region, cpf)
	req := tchttp.NewCommonRequest("ssm", "2019-09-23", action)
	req.SetContext(ctx)
	if err := req.SetActionParameters(params); err != nil {
		return err
	}
	resp := tchttp.NewCommonResponse()
	if err := client.Send(req, resp); err != nil {
		return err
	}
	if err := json.Unmarshal(resp.GetBody(), out); err != nil {
		return fmt.Errorf("an answer that is not SSM's")
	}
	return nil
}

// secretValue is GetSecretValue's answer.
type secretValue struct {
	Response struct {
		SecretString *string
		SecretBinary *string
	}
}

func (v *secretValue) value() (string, error) {
	switch r := v.Response; {
	case r.SecretString != nil && *r.SecretString != "":
		return *r.SecretString, nil
	case r.SecretBinary != nil:
		return *r.SecretBinary, nil // base64, as SSM keeps it
	}
	return "", errors.New("the secret has no value")
}

// Read implements Reader: the SSM_Current version. SSM documents SSM_Current for the
// credentials it rotates itself; a user-defined secret it refuses that label for is read at
// its newest version instead (ListSecretVersionIds).
func (r *TencentSSMReader) Read(ctx context.Context, name string) (string, error) {
	v, err := r.version(ctx, name, "SSM_Current")
	var sdkErr *tcerrors.TencentCloudSDKError
	if !errors.As(err, &sdkErr) || !(strings.HasPrefix(sdkErr.Code, "ResourceNotFound.Version") || strings.HasPrefix(sdkErr.Code, "InvalidParameter")) {
		return v, err
	}
	vs, lerr := r.versions(ctx, name)
	if lerr != nil || len(vs) == 0 {
		return "", err // the label's refusal says more
	}
	return r.version(ctx, name, vs[0].VersionId)
}

// ssmVersion is one entry of ListSecretVersionIds.
type ssmVersion struct {
	VersionId  string
	CreateTime int64
}

// versions lists a secret's versions, newest first.
func (r *TencentSSMReader) versions(ctx context.Context, name string) ([]ssmVersion, error) {
	var list struct {
		Response struct{ Versions []ssmVersion }
	}
	if err := r.call(ctx, "ListSecretVersionIds", map[string]any{"SecretName": name}, &list); err != nil {
		return nil, err
	}
	vs := list.Response.Versions
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].CreateTime > vs[j].CreateTime }) // ties: as SSM lists them, newest first
	return vs, nil
}

func (r *TencentSSMReader) version(ctx context.Context, name, id string) (string, error) {
	var v secretValue
	if err := r.call(ctx, "GetSecretValue", map[string]any{"SecretName": name, "VersionId": id}, &v); err != nil {
		return "", err
	}
	return v.value()
}

// Previous implements Historian with ListSecretVersionIds: the newest version is taken as
// the current one (SSM_Current) and its CreateTime as the rotation; the one before it is
// the previous value.
func (r *TencentSSMReader) Previous(ctx context.Context, name string) (string, time.Time, bool, error) {
	vs, err := r.versions(ctx, name)
	if err != nil || len(vs) < 2 {
		return "", time.Time{}, false, err
	}
	v, err := r.version(ctx, name, vs[1].VersionId)
	if err != nil {
		return "", time.Time{}, false, err
	}
	return v, time.Unix(vs[0].CreateTime, 0), true, nil
}
