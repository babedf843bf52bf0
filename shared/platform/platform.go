// Package platform holds what the platform adapters in its subpackages (scf, lambda)
// share; start, another subpackage, detects the platform that started the process and
// serves on it.
package platform

import (
	"context"
	"encoding/json"
	"strings"
)

// BadBase64Body is the JSON answer (400, the API's error shape and invalid_json code) to
// an event whose body is marked base64 but is not: the client's fault, not an invocation
// error the gateway would turn into a 5xx.
func BadBase64Body(requestID string) string {
	js, _ := json.Marshal(map[string]any{"error": map[string]string{"code": "invalid_json",
		"message": "the body is marked base64 (isBase64Encoded) but is not valid base64", "requestId": requestID}})
	return string(js)
}

type publicURLKey struct{}

// WithPublicURL records the API's external base URL as an event shows it: scheme, host
// and the stage prefix an adapter removed from the path ("https://abc.execute-api.
// us-east-1.amazonaws.com/prod"). URLs the function hands out (Uppy's companionEndpoint)
// are built on it, so they work behind any stage.
func WithPublicURL(ctx context.Context, base string) context.Context {
	return context.WithValue(ctx, publicURLKey{}, base)
}

// PublicURL returns what WithPublicURL recorded ("" if nothing did).
func PublicURL(ctx context.Context) string {
	s, _ := ctx.Value(publicURLKey{}).(string)
	return s
}

// BaseURL puts an external base URL together: https unless the gateway forwarded another
// scheme, the host, and the path prefix (a stage) clients put before every route.
func BaseURL(forwardedProto, host, prefix string) string {
	if host == "" {
		return ""
	}
	scheme := "https" // every gateway and function URL serves https
	if forwardedProto == "http" {
		scheme = "http"
	}
	return scheme + "://" + host + strings.TrimSuffix(prefix, "/")
}

type authorizerKey struct{}

// WithAuthorizer records what the gateway's authorizer verified about the caller, flat:
// a JWT authorizer's claims, a Lambda authorizer's context, IAM's identity (userArn ...).
// Adapters fill it from the event only, never from anything a client sends.
func WithAuthorizer(ctx context.Context, claims map[string]string) context.Context {
	return context.WithValue(ctx, authorizerKey{}, claims)
}

// Authorizer returns what WithAuthorizer recorded; ok is false when the event carried no
// authorizer context.
func Authorizer(ctx context.Context) (claims map[string]string, ok bool) {
	claims, ok = ctx.Value(authorizerKey{}).(map[string]string)
	return claims, ok && len(claims) > 0
}
