// Command bucket-setup prepares a COS bucket for directup with the official COS SDK:
//
//   - a CORS rule browsers need to PUT parts and read their ETag (ETag and
//     x-cos-hash-crc64ecma exposed), for the given origins;
//   - a lifecycle rule that aborts multipart uploads left incomplete after N days, so
//     abandoned parts stop costing storage.
//
// With -print-policy it prints the least-privilege CAM policy for the function's role
// instead. Credentials: TENCENTCLOUD_SECRETID / TENCENTCLOUD_SECRETKEY (/ _SESSIONTOKEN).
// Note: COS replaces a bucket's whole CORS and lifecycle configuration on each call.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	cos "github.com/tencentyun/cos-go-sdk-v5"
)

type options struct {
	bucket, region, endpoint string
	origins                  []string
	prefix                   string
	abortDays                int
	sts                      bool // the role also backs POST /sts: its keys' SDKs PUT small files
}

func main() {
	var o options
	origins := flag.String("origins", "*", "comma list of web origins allowed to upload")
	flag.StringVar(&o.bucket, "bucket", os.Getenv("COS_BUCKET"), "bucket with APPID (default $COS_BUCKET)")
	flag.StringVar(&o.region, "region", os.Getenv("COS_REGION"), "region (default $COS_REGION)")
	flag.StringVar(&o.endpoint, "endpoint", "", "endpoint override")
	flag.StringVar(&o.prefix, "prefix", "uploads/", "key prefix uploads use (UPLOAD_KEY_PREFIX)")
	flag.IntVar(&o.abortDays, "abort-days", 3, "abort multipart uploads left incomplete this many days")
	printPolicy := flag.Bool("print-policy", false, "print the function role's least-privilege CAM policy and exit")
	flag.BoolVar(&o.sts, "sts", false, "with -print-policy: the policy of a COS_ROLE_ARN role that also backs POST /sts (UPLOAD_ALLOW_STS)")
	flag.Parse()
	o.origins = strings.Split(*origins, ",")
	if *printPolicy {
		js, err := policy(o)
		if err != nil {
			fail(err)
		}
		fmt.Println(js)
		return
	}
	base := o.endpoint
	if base == "" {
		base = "https://" + o.bucket + ".cos." + o.region + ".myqcloud.com"
	}
	u, err := url.Parse(base)
	if err != nil || o.bucket == "" {
		fail(errors.New("set -bucket and -region (or -endpoint)"))
	}
	client := cos.NewClient(&cos.BaseURL{BucketURL: u}, &http.Client{Transport: &cos.AuthorizationTransport{
		SecretID: os.Getenv("TENCENTCLOUD_SECRETID"), SecretKey: os.Getenv("TENCENTCLOUD_SECRETKEY"),
		SessionToken: os.Getenv("TENCENTCLOUD_SESSIONTOKEN")}})
	if err := setup(context.Background(), client, o); err != nil {
		fail(err)
	}
	fmt.Printf("bucket %s: CORS for %s with ETag exposed; incomplete uploads under %q aborted after %d days\n",
		o.bucket, strings.Join(o.origins, ","), o.prefix, o.abortDays)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bucket-setup:", err)
	os.Exit(1)
}

func setup(ctx context.Context, c *cos.Client, o options) error {
	if _, err := c.Bucket.PutCORS(ctx, &cos.BucketPutCORSOptions{Rules: []cos.BucketCORSRule{{
		ID:             "directup",
		AllowedOrigins: o.origins,
		AllowedMethods: []string{"PUT", "POST", "GET", "DELETE", "HEAD"},
		AllowedHeaders: []string{"*"},
		ExposeHeaders:  []string{"ETag", "x-cos-hash-crc64ecma", "x-cos-request-id"},
		MaxAgeSeconds:  600,
	}}}); err != nil {
		return fmt.Errorf("CORS: %w", err)
	}
	if _, err := c.Bucket.PutLifecycle(ctx, &cos.BucketPutLifecycleOptions{Rules: []cos.BucketLifecycleRule{{
		ID: "directup-abort-incomplete", Status: "Enabled", Filter: &cos.BucketLifecycleFilter{Prefix: o.prefix},
		AbortIncompleteMultipartUpload: &cos.BucketLifecycleAbortIncompleteMultipartUpload{DaysAfterInitiation: o.abortDays},
	}}}); err != nil {
		return fmt.Errorf("lifecycle: %w", err)
	}
	return nil
}

// policy is the CAM policy the functions' role needs: the five multipart actions and
// HeadObject (abort tells a completed upload from a gone one), GetObject and DeleteObject
// (content verification) on the upload prefix of one
// bucket, ListMultipartUploads on the bucket (an initiate whose answer was lost finds its
// orphan), and reading and writing the queue function's markers.
func policy(o options) (string, error) {
	i := strings.LastIndexByte(o.bucket, '-')
	if i < 0 || o.region == "" {
		return "", errors.New("set -bucket (name-appid) and -region")
	}
	appid := o.bucket[i+1:]
	actions := []string{"name/cos:InitiateMultipartUpload", "name/cos:UploadPart", "name/cos:ListParts",
		"name/cos:CompleteMultipartUpload", "name/cos:AbortMultipartUpload", "name/cos:HeadObject",
		// Content verification reads a completed object's first bytes, and deletes it
		// when they contradict its declared type.
		"name/cos:GetObject", "name/cos:DeleteObject",
		// Uppy's small-file path: a browser form the function signs (API_COMPANION_FORMS),
		// whose object's access list the storage-triggered check reads.
		"name/cos:PostObject", "name/cos:GetObjectACL"}
	if o.sts {
		// Keys STS narrows from this role to one upload can do no more than the role: the
		// SDKs' simple upload of small files is a PutObject.
		actions = append(actions, "name/cos:PutObject")
	}
	doc := map[string]any{
		"version": "2.0",
		"statement": []map[string]any{{
			"effect":   "allow",
			"action":   actions,
			"resource": []string{"qcs::cos:" + o.region + ":uid/" + appid + ":" + o.bucket + "/" + o.prefix + "*"},
		}, {
			// A bucket-level action: its resource is the bucket's.
			"effect": "allow",
			// GetBucket lists a caller's folder of open uploads (GET /uploads).
			"action":   []string{"name/cos:ListMultipartUploads", "name/cos:GetBucket"},
			"resource": []string{"qcs::cos:" + o.region + ":uid/" + appid + ":" + o.bucket + "/*"},
		}, {
			// The queue function's idempotency markers (x-cos-forbid-overwrite objects).
			"effect":   "allow",
			"action":   []string{"name/cos:PutObject", "name/cos:GetObject"},
			"resource": []string{"qcs::cos:" + o.region + ":uid/" + appid + ":" + o.bucket + "/" + o.prefix + ".directup/*"},
		}},
	}
	js, err := json.MarshalIndent(doc, "", "  ")
	return string(js), err
}
