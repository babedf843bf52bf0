package storerest

import (
	"context"
	"encoding/xml"
	"net/http"
	"net/url"
)

// ListKeys lists the first max object keys under prefix (GET Bucket / ListObjects, 1,000
// a page), in key order (records.KeyLister).
func (c *Client) ListKeys(ctx context.Context, prefix string, max int) ([]string, error) {
	var keys []string
	marker := ""
	for len(keys) < max {
		q := url.Values{"prefix": {prefix}, "max-keys": {"1000"}}
		if marker != "" {
			q.Set("marker", marker)
		}
		_, body, err := c.Do(ctx, Call{Method: http.MethodGet, Query: q})
		if err != nil {
			return nil, c.Error(err)
		}
		var r struct {
			IsTruncated bool
			NextMarker  string
			Contents    []struct{ Key string }
		}
		if err := xml.Unmarshal(body, &r); err != nil {
			return nil, c.malformed("ListObjects", err)
		}
		for _, o := range r.Contents {
			keys = append(keys, o.Key)
		}
		if !r.IsTruncated || len(r.Contents) == 0 {
			break
		}
		marker = r.NextMarker
		if marker == "" { // S3's v1 names none without a delimiter: the last key is the marker
			marker = r.Contents[len(r.Contents)-1].Key
		}
	}
	return keys[:min(len(keys), max)], nil
}
