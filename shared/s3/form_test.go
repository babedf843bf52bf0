package s3

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/formpolicy"
	"github.com/directup/directup/shared/storage"
)

// The official SDK is the oracle for the POST policy's signature: for the policy
// aws-sdk-go-v2's PresignPostObject signs, the store's signing gives its x-amz-signature,
// with and without a session token; and the store's own forms carry every field the SDK's
// do, each pinned by a condition.
func TestFormSignatureMatchesTheSDK(t *testing.T) {
	for _, token := range []string{"", "FwoGZXIvYXdzEXAMPLETOKEN"} {
		cred := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", SessionToken: token}
		client := sdk.NewFromConfig(aws.Config{Region: "eu-west-1", Credentials: aws.CredentialsProviderFunc(
			func(context.Context) (aws.Credentials, error) { return cred, nil })})
		out, err := sdk.NewPresignClient(client).PresignPostObject(context.Background(), &sdk.PutObjectInput{
			Bucket: aws.String("examplebucket"), Key: aws.String("uploads/a b/ü.png")})
		if err != nil {
			t.Fatal(err)
		}
		c, err := New(Config{Bucket: "examplebucket", Region: "eu-west-1"}, credentials.Static{
			AccessKeyID: cred.AccessKeyID, SecretAccessKey: cred.SecretAccessKey, SessionToken: token}, nil)
		if err != nil {
			t.Fatal(err)
		}
		date := out.Values["X-Amz-Date"]
		if got := c.postSignature(cred.AccessKeyID, cred.SecretAccessKey, date[:8], out.Values["policy"]); got != out.Values["X-Amz-Signature"] {
			t.Fatalf("token %q: signature %s, the SDK's %s", token, got, out.Values["X-Amz-Signature"])
		}
		form, err := c.PresignForm(context.Background(), &storage.FormRequest{Object: &storage.Object{Key: "uploads/a b/ü.png", ContentType: "image/png"}, MaxSize: 10, TTL: 3600e9})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := base64.StdEncoding.DecodeString(form.Fields["policy"])
		doc, err := formpolicy.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		for name := range out.Values { // the SDK's fields, named as the store names them
			n := strings.ToLower(name)
			if n == "policy" || n == "x-amz-signature" {
				continue
			}
			if _, ok := form.Fields[n]; !ok {
				t.Errorf("the store's form lacks %s", n)
			}
			if v, ok := doc.Field(n); !ok || v != form.Fields[n] {
				t.Errorf("the store's policy does not pin %s", n)
			}
		}
		if form.URL != "https://examplebucket.s3.eu-west-1.amazonaws.com/" {
			t.Errorf("form URL %s", form.URL)
		}
	}
}
