// Package awsrequest sends the one signed AWS request a config provider needs
// (S3 GetObject, Secrets Manager GetSecretValue) with the credentials Lambda
// puts in the environment, instead of the AWS SDK's service clients: the
// contrib s3provider's S3 client, its credential chain and their
// dependencies are about 8 MB of the collector binary. The signature is the
// SDK's own Signature Version 4 signer, a core package that brings few
// dependencies: a hand-written one measured 78 KB smaller (25 KB of zip),
// not enough to justify it (BENCHMARKS.md, "Footprint and start-up").
package awsrequest // import "github.com/lambda-o11y/otelcol-lambda/confmap/provider/internal/awsrequest"

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/encoding/httpbinding"
)

// Credentials are an access key pair, with the session token of temporary
// credentials (a Lambda execution role's always have one).
type Credentials = aws.Credentials

// PayloadHash is the hex SHA-256 of a request body.
func PayloadHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// Sign adds X-Amz-Date, X-Amz-Security-Token (temporary credentials) and
// Authorization to req, signing the host and the headers req already has.
// The path is signed as given, encoded once: S3's rule, and the same as the
// double encoding of other services for their root path. A new signer each
// time: a signer caches its signing key by access key id alone.
func Sign(req *http.Request, payloadHash string, c Credentials, region, service string, now time.Time) error {
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	return signer.SignHTTP(context.Background(), c, req, payloadHash, service, region, now)
}

// EscapePath percent-encodes an S3 key the way the SDK's S3 client does
// (everything but unreserved characters and '/').
func EscapePath(p string) string { return httpbinding.EscapePath(p, false) }
