// Package campolicy writes and evaluates the CAM policies that scope temporary COS keys:
// the inline policy directup hands Tencent STS for one upload's keys, and the evaluation
// the local store applies to keys its stand-in STS minted (as COS does with real ones).
package campolicy

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/directup/directup/shared/policy"
)

// Policy is a CAM policy document (version 2.0).
type Policy struct {
	Version   string      `json:"version"`
	Statement []Statement `json:"statement"`
}

// Statement allows (or denies) actions on resources, under conditions.
type Statement struct {
	Effect    string                    `json:"effect"`
	Action    []string                  `json:"action"`
	Resource  []string                  `json:"resource"`
	Condition map[string]map[string]any `json:"condition,omitempty"`
}

// Condition keys COS understands and directup pins.
const (
	ContentType   = "cos:content-type"
	ContentLength = "cos:content-length"
)

// Resource names an object of bucket "<name>-<appid>" in region, for a policy to grant:
// only from an admitted key (policy.ObjectKey), which holds no wildcard or policy variable,
// so the resource names that one object and nothing else.
func Resource(region, bucket string, key policy.ObjectKey) string {
	return RequestResource(region, bucket, key.String())
}

// RequestResource names the object (or, for bucket-level actions, the key prefix) a
// request touches, for evaluating it (Allows). Never put one in a policy.
func RequestResource(region, bucket, key string) string {
	appid := bucket[strings.LastIndexByte(bucket, '-')+1:]
	return "qcs::cos:" + region + ":uid/" + appid + ":" + bucket + "/" + key
}

// UploadActions are what a client SDK's upload of one object needs: the multipart calls
// (with ListMultipartUploads, which the SDKs call first to resume) and a simple PUT.
var UploadActions = []string{
	"name/cos:InitiateMultipartUpload", "name/cos:ListMultipartUploads", "name/cos:ListParts",
	"name/cos:UploadPart", "name/cos:CompleteMultipartUpload", "name/cos:AbortMultipartUpload",
	"name/cos:PutObject",
}

// ForUpload is the policy of one upload's keys: exactly UploadActions on exactly key; the
// initiate and the simple PUT must declare contentType, and no part or simple PUT may carry
// more than size bytes. Each action is in one statement only, with all its conditions
// (CAM allows a request any one allow statement covers).
func ForUpload(region, bucket string, key policy.ObjectKey, contentType string, size int64) Policy {
	res := []string{Resource(region, bucket, key)}
	return Policy{Version: "2.0", Statement: []Statement{
		{Effect: "allow", Action: []string{"name/cos:PutObject"}, Resource: res,
			Condition: map[string]map[string]any{"string_equal": {ContentType: contentType}, "numeric_less_than_equal": {ContentLength: size}}},
		{Effect: "allow", Action: []string{"name/cos:InitiateMultipartUpload"}, Resource: res,
			Condition: map[string]map[string]any{"string_equal": {ContentType: contentType}}},
		{Effect: "allow", Action: []string{"name/cos:UploadPart"}, Resource: res,
			Condition: map[string]map[string]any{"numeric_less_than_equal": {ContentLength: size}}},
		{Effect: "allow", Action: []string{"name/cos:ListMultipartUploads", "name/cos:ListParts",
			"name/cos:CompleteMultipartUpload", "name/cos:AbortMultipartUpload"}, Resource: res},
	}}
}

// JSON renders the policy as STS takes it.
func (p Policy) JSON() string {
	js, _ := json.Marshal(p)
	return string(js)
}

// Request is what one COS request asks: its action ("name/cos:UploadPart"), the resource
// it touches, and the values its conditions may test.
type Request struct {
	Action   string
	Resource string
	Values   map[string]string // condition key -> the request's value
}

// Allows reports whether p allows r as CAM decides: some allow statement names the action,
// a matching resource (a * anywhere matches any run of characters) and conditions r meets, all of
// them; and no deny statement covers r.
func (p Policy) Allows(r Request) bool {
	allowed := false
	for _, st := range p.Statement {
		if !names(st.Action, r.Action) || !matches(st.Resource, r.Resource) || !meets(st.Condition, r.Values) {
			continue
		}
		if st.Effect == "deny" {
			return false
		}
		allowed = true
	}
	return allowed
}

func names(actions []string, a string) bool {
	for _, x := range actions {
		if x == a || x == "name/cos:*" || x == "*" {
			return true
		}
	}
	return false
}

func matches(resources []string, r string) bool {
	for _, x := range resources {
		if glob(x, r) {
			return true
		}
	}
	return false
}

// glob matches r against a CAM resource pattern as CAM does: a "*" anywhere matches any
// run of characters (none included); everything else matches itself.
func glob(pattern, r string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == r
	}
	if !strings.HasPrefix(r, parts[0]) {
		return false
	}
	r = r[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(r, p)
		if i < 0 {
			return false
		}
		r = r[i+len(p):]
	}
	return strings.HasSuffix(r, last)
}

func meets(cond map[string]map[string]any, values map[string]string) bool {
	for op, kv := range cond {
		for k, want := range kv {
			got, ok := values[k]
			if !ok {
				return false // a pinned value the request does not carry
			}
			switch op {
			case "string_equal":
				if got != toString(want) {
					return false
				}
			case "numeric_less_than_equal":
				g, err1 := strconv.ParseFloat(got, 64)
				w, err2 := strconv.ParseFloat(toString(want), 64)
				if err1 != nil || err2 != nil || g > w {
					return false
				}
			default:
				return false // an operator this evaluator does not know never passes
			}
		}
	}
	return true
}

func toString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(v, 10)
	case json.Number:
		return v.String()
	}
	js, _ := json.Marshal(v)
	return string(js)
}
