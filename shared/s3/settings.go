package s3

import (
	"errors"
	"net/http"

	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/stores"
)

// Settings are the S3 store's environment variables (read by config with envconfig).
type Settings struct {
	Bucket   string `envconfig:"S3_BUCKET"`
	Region   string `envconfig:"S3_REGION"`
	Endpoint string `envconfig:"S3_ENDPOINT"` // an S3-compatible server, path-style
}

func init() {
	stores.Register(stores.Driver{Name: "s3", Selector: "S3_BUCKET", NewSettings: func() stores.Settings { return &Settings{} }})
}

// Configured reports whether the deployment names an S3 bucket.
func (s *Settings) Configured() bool { return s.Bucket != "" }

// Validate checks the settings and what the policy asks of them; errors name the variable.
func (s *Settings) Validate(p *policy.Policy) error {
	// The store's own variables first, then what the policy asks of them.
	if _, err := New(Config{Bucket: s.Bucket, Region: s.Region, Endpoint: s.Endpoint}, nil, nil); err != nil {
		return err
	}
	if p.AllowSTS {
		return errors.New("UPLOAD_ALLOW_STS: temporary keys are for COS's client SDKs; not available with S3_BUCKET")
	}
	return nil
}

// Open returns the store, signing with the Lambda role's AWS_* credentials, read per request.
func (s *Settings) Open(httpClient *http.Client) (storage.Store, error) {
	aws := &credentials.Env{IDVar: "AWS_ACCESS_KEY_ID", KeyVar: "AWS_SECRET_ACCESS_KEY", TokenVar: "AWS_SESSION_TOKEN"}
	return New(Config{Bucket: s.Bucket, Region: s.Region, Endpoint: s.Endpoint}, aws, httpClient)
}
