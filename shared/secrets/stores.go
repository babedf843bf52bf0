package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
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
	return &smReader{lazy[secretsmanager.Client]{build: func(context.Context) (*secretsmanager.Client, error) {
		return secretsmanager.New(secretsmanager.Options{Region: credentials.AWSRegion(),
			Credentials: credentials.AWSSDK{Provider: credentials.AWSRole()}, BaseEndpoint: credentials.AWSEndpoint("SECRETS_MANAGER")}), nil
	}}}
}

type smReader struct{ lazy[secretsmanager.Client] }

func (r *smReader) Read(ctx context.Context, name string) (string, error) {
	c, err := r.get(ctx)
	if err != nil {
		return "", err
	}
	out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	if err != nil {
		return "", err
	}
	switch {
	case out.SecretString != nil:
		return *out.SecretString, nil
	case out.SecretBinary != nil:
		return string(out.SecretBinary), nil
	}
	return "", errors.New("the secret has no value")
}

// ParameterStore reads AWS Systems Manager parameters (GetParameter with decryption, so
// SecureString parameters come back in clear); AWS_ENDPOINT_URL_SSM overrides the endpoint.
func ParameterStore() Reader {
	return &ssmReader{lazy[ssm.Client]{build: func(context.Context) (*ssm.Client, error) {
		return ssm.New(ssm.Options{Region: credentials.AWSRegion(),
			Credentials: credentials.AWSSDK{Provider: credentials.AWSRole()}, BaseEndpoint: credentials.AWSEndpoint("SSM")}), nil
	}}}
}

type ssmReader struct{ lazy[ssm.Client] }

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
	return *out.Parameter.Value, nil
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

// Read implements Reader.
func (r *TencentSSMReader) Read(ctx context.Context, name string) (string, error) {
	base, err := r.Creds.Retrieve(ctx)
	if err != nil {
		return "", err
	}
	cpf := profile.NewClientProfile()
	if r.Endpoint != "" {
		u, err := url.Parse(r.Endpoint)
		if err != nil || u.Host == "" {
			return "", errors.New("TENCENT_SSM_ENDPOINT: must be a URL")
		}
		cpf.HttpProfile.Endpoint, cpf.HttpProfile.Scheme = u.Host, strings.ToUpper(u.Scheme)
	}
	if dl, ok := ctx.Deadline(); ok {
		cpf.HttpProfile.ReqTimeout = max(1, int(time.Until(dl).Seconds()))
	}
	client := common.NewCommonClient(common.NewTokenCredential(base.AccessKeyID, base.SecretAccessKey, base.SessionToken), r.Region, cpf)
	req := tchttp.NewCommonRequest("ssm", "2019-09-23", "GetSecretValue")
	req.SetContext(ctx)
	if err := req.SetActionParameters(map[string]any{"SecretName": name, "VersionId": "SSM_Current"}); err != nil {
		return "", err
	}
	resp := tchttp.NewCommonResponse()
	if err := client.Send(req, resp); err != nil {
		return "", err
	}
	var body struct {
		Response struct {
			SecretString *string
			SecretBinary *string
		}
	}
	if err := json.Unmarshal(resp.GetBody(), &body); err != nil {
		return "", fmt.Errorf("an answer that is not SSM's")
	}
	switch {
	case body.Response.SecretString != nil && *body.Response.SecretString != "":
		return *body.Response.SecretString, nil
	case body.Response.SecretBinary != nil:
		return *body.Response.SecretBinary, nil // base64, as SSM keeps it
	}
	return "", errors.New("the secret has no value")
}
