package credentials

import (
	"context"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// AWSRole reads the credentials Lambda gives a function's execution role, on every call.
func AWSRole() *Env {
	return &Env{IDVar: "AWS_ACCESS_KEY_ID", KeyVar: "AWS_SECRET_ACCESS_KEY", TokenVar: "AWS_SESSION_TOKEN"}
}

// AWSSDK adapts a Provider to the AWS SDK's credentials interface. The SDK clients are
// built from it and the environment alone (no aws-sdk-go-v2/config: its shared-file,
// SSO and instance-metadata providers would double the binary for nothing a function uses).
type AWSSDK struct{ Provider }

// Retrieve implements aws.CredentialsProvider.
func (a AWSSDK) Retrieve(ctx context.Context) (aws.Credentials, error) {
	v, err := a.Provider.Retrieve(ctx)
	if err != nil {
		return aws.Credentials{}, err
	}
	return aws.Credentials{AccessKeyID: v.AccessKeyID, SecretAccessKey: v.SecretAccessKey, SessionToken: v.SessionToken,
		Source: "directup", CanExpire: !v.Expires.IsZero(), Expires: v.Expires}, nil
}

// AWSEndpoint is the endpoint override the AWS SDKs document for a service:
// AWS_ENDPOINT_URL_<SERVICE> (SECRETS_MANAGER, SSM, STS), else AWS_ENDPOINT_URL; nil
// when neither is set (the region's endpoint).
func AWSEndpoint(service string) *string {
	for _, v := range []string{"AWS_ENDPOINT_URL_" + service, "AWS_ENDPOINT_URL"} {
		if u := os.Getenv(v); u != "" {
			return &u
		}
	}
	return nil
}

// AWSRegion is the function's region (Lambda sets AWS_REGION).
func AWSRegion() string {
	if r := os.Getenv("AWS_REGION"); r != "" {
		return r
	}
	return os.Getenv("AWS_DEFAULT_REGION")
}
