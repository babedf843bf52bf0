// Package lambda runs an http.Handler on AWS Lambda behind API Gateway REST APIs
// (payload 1.0), HTTP APIs and Function URLs (payload 2.0), using aws-lambda-go and the
// awslabs aws-lambda-go-api-proxy adapters rather than hand-mapping events.
package lambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/directup/directup/shared/gateway"
	"github.com/directup/directup/shared/wire"
)

var jsonType = map[string]string{"Content-Type": "application/json; charset=utf-8"}

func isBase64(s string) bool {
	_, err := base64.StdEncoding.DecodeString(s)
	return err == nil
}

// requestID is the platform's id for a request that did not bring an X-Request-Id of its
// own (the API answers and logs it): the gateway's request id, else the invocation's.
func requestID(ctx context.Context, h map[string]string, gatewayID string) string {
	if header(h, "x-request-id", "") != "" {
		return ""
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok && gatewayID == "" {
		return lc.AwsRequestID
	}
	return gatewayID
}

func with(h map[string]string, k, v string) map[string]string {
	if h == nil {
		h = map[string]string{}
	}
	h[k] = v
	return h
}

// header reads a header of an event whatever its case (REST events keep the client's,
// payload 2.0 lowercases them), or def.
func header(h map[string]string, name, def string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) && v != "" {
			return v
		}
	}
	return def
}

// restPublicURL is a REST API's external base URL. Its events carry the route's path
// without the stage and, in requestContext.path, the path the client called: what
// precedes the route there is the prefix (the stage, or a custom domain's base path).
// Fixtures that repeat the route in both name the stage only by requestContext.stage,
// which the default execute-api domain puts first.
func restPublicURL(ev *events.APIGatewayProxyRequest) string {
	rc := ev.RequestContext
	host := header(ev.Headers, "host", rc.DomainName)
	prefix := ""
	if p, ok := strings.CutSuffix(rc.Path, ev.Path); ok && rc.Path != ev.Path {
		prefix = p
	} else if rc.Stage != "" && strings.Contains(host, ".execute-api.") {
		prefix = "/" + rc.Stage
	}
	return gateway.BaseURL(header(ev.Headers, "x-forwarded-proto", ""), host, prefix)
}

// v2Authorizer flattens an HTTP API's authorizer context: a JWT authorizer's claims, a
// Lambda authorizer's context, or IAM's identity.
func v2Authorizer(a *events.APIGatewayV2HTTPRequestContextAuthorizerDescription) map[string]string {
	out := map[string]string{}
	if a == nil {
		return out
	}
	if a.JWT != nil {
		for k, v := range a.JWT.Claims {
			out[k] = v
		}
	}
	flatten(out, a.Lambda)
	if iam := a.IAM; iam != nil {
		for k, v := range map[string]string{"userArn": iam.UserARN, "userId": iam.UserID, "accountId": iam.AccountID,
			"callerId": iam.CallerID, "cognitoIdentityId": iam.CognitoIdentity.IdentityID} {
			if v != "" {
				out[k] = v
			}
		}
	}
	return out
}

// restAuthorizer flattens a REST API's authorizer context (a Lambda authorizer's
// principalId and context, a Cognito authorizer's claims) and its IAM identity.
func restAuthorizer(rc *events.APIGatewayProxyRequestContext) map[string]string {
	out := map[string]string{}
	if claims, ok := rc.Authorizer["claims"].(map[string]any); ok {
		flatten(out, claims)
	}
	flatten(out, rc.Authorizer)
	for k, v := range map[string]string{"userArn": rc.Identity.UserArn, "cognitoIdentityId": rc.Identity.CognitoIdentityID} {
		if v != "" && rc.Identity.UserArn != "" { // set by IAM authorization only
			out[k] = v
		}
	}
	return out
}

// flatten copies the scalar values of m as strings (JSON numbers without exponent).
func flatten(out map[string]string, m map[string]any) {
	for k, v := range m {
		switch v := v.(type) {
		case string:
			out[k] = v
		case float64:
			out[k] = strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			out[k] = strconv.FormatBool(v)
		case json.Number:
			out[k] = v.String()
		}
	}
}

// ErrUnsupported means the event is neither payload format.
var ErrUnsupported = errors.New("lambda: the event is not an API Gateway or Function URL event")

// Handler returns a Lambda handler serving h. Both payload formats reach the same routes;
// a non-default HTTP API stage prefix ("/prod/uploads") is removed.
func Handler(h http.Handler) func(context.Context, json.RawMessage) (any, error) {
	v1, v2 := httpadapter.New(h), httpadapter.NewV2(h)
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct {
			Version        string `json:"version"`
			HTTPMethod     string `json:"httpMethod"`
			RawPath        string `json:"rawPath"`
			RequestContext struct {
				ELB          json.RawMessage `json:"elb"`
				ConnectionID string          `json:"connectionId"`
			} `json:"requestContext"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil {
			return nil, ErrUnsupported
		}
		switch {
		case probe.RequestContext.ELB != nil:
			// ALB target events look like REST ones but differ in header modes, query
			// decoding and answers: refused rather than half served.
			return nil, fmt.Errorf("%w (an Application Load Balancer target event: put an HTTP API or a Function URL in front)", ErrUnsupported)
		case probe.RequestContext.ConnectionID != "":
			return nil, fmt.Errorf("%w (a WebSocket API event)", ErrUnsupported)
		case probe.Version == "2.0" && probe.RawPath != "":
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, err
			}
			if ev.IsBase64Encoded && !isBase64(ev.Body) {
				return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusBadRequest, Headers: jsonType,
					Body: wire.BadBase64Body(ev.RequestContext.RequestID)}, nil
			}
			prefix := ""
			if st := ev.RequestContext.Stage; st != "" && st != "$default" {
				if p, ok := strings.CutPrefix(ev.RawPath, "/"+st); ok && (p == "" || p[0] == '/') {
					ev.RawPath = "/" + strings.TrimPrefix(p, "/")
					prefix = "/" + st
				}
			}
			if id := requestID(ctx, ev.Headers, ev.RequestContext.RequestID); id != "" {
				ev.Headers = with(ev.Headers, "X-Request-Id", id)
			}
			ctx = gateway.WithAuthorizer(ctx, v2Authorizer(ev.RequestContext.Authorizer))
			host := header(ev.Headers, "host", ev.RequestContext.DomainName)
			ctx = gateway.WithPublicURL(ctx, gateway.BaseURL(header(ev.Headers, "x-forwarded-proto", ""), host, prefix))
			return v2.ProxyWithContext(ctx, ev)
		case probe.HTTPMethod != "":
			// REST APIs put the resource path, without the stage, in path.
			var ev events.APIGatewayProxyRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, err
			}
			if ev.IsBase64Encoded && !isBase64(ev.Body) {
				return events.APIGatewayProxyResponse{StatusCode: http.StatusBadRequest, Headers: jsonType,
					Body: wire.BadBase64Body(ev.RequestContext.RequestID)}, nil
			}
			if id := requestID(ctx, ev.Headers, ev.RequestContext.RequestID); id != "" {
				ev.Headers = with(ev.Headers, "X-Request-Id", id)
				if ev.MultiValueHeaders != nil { // the adapter reads these when present
					ev.MultiValueHeaders["X-Request-Id"] = []string{id}
				}
			}
			ctx = gateway.WithPublicURL(ctx, restPublicURL(&ev))
			ctx = gateway.WithAuthorizer(ctx, restAuthorizer(&ev.RequestContext))
			return v1.ProxyWithContext(ctx, ev)
		}
		return nil, ErrUnsupported
	}
}
