package s3

import (
	"net/http"

	"github.com/directup/directup/shared/credentials"
)

// Settings are the S3 store's environment variables (read by config with envconfig).
type Settings struct {
	Bucket   string `envconfig:"S3_BUCKET"`
	Region   string `envconfig:"S3_REGION"`
	Endpoint string `envconfig:"S3_ENDPOINT"` // an S3-compatible server, path-style
}

// Configured reports whether the deployment names an S3 bucket.
func (s Settings) Configured() bool { return s.Bucket != "" }

// Validate checks the settings; errors name the variable.
func (s Settings) Validate() error {
	_, err := New(Config{Bucket: s.Bucket, Region: s.Region, Endpoint: s.Endpoint}, nil, nil)
	return err
}

// Open returns the store, signing with the Lambda role's AWS_* credentials, read per request.
func (s Settings) Open(httpClient *http.Client) (*Client, error) {
	aws := &credentials.Env{IDVar: "AWS_ACCESS_KEY_ID", KeyVar: "AWS_SECRET_ACCESS_KEY", TokenVar: "AWS_SESSION_TOKEN"}
	return New(Config{Bucket: s.Bucket, Region: s.Region, Endpoint: s.Endpoint}, aws, httpClient)
}
