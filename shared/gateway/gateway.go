// Package gateway carries what the gateway in front of a function told about a request:
// the API's external base URL and what its authorizer verified about the caller. The
// platform adapters record them on the request's context from the event only; the HTTP
// surface and authentication read them. It imports nothing of directup's.
package gateway

import (
	"context"
	"strings"
)

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
