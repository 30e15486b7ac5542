// Package awsrequesttest checks AWS Signature Version 4 requests with a
// signer of its own, written from AWS's specification and checked against
// AWS's published examples, so that a test of the providers (which sign with
// the AWS SDK's signer) does not check the SDK against itself. Server is a
// loopback S3 GetObject and Secrets Manager GetSecretValue endpoint that
// answers only correctly signed requests.
package awsrequesttest // import "github.com/lambda-o11y/otelcol-lambda/internal/awsrequesttest"

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// Credentials are what the server expects requests to be signed with.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// maxSkew is how far X-Amz-Date may be from the server's clock, as in S3.
const maxSkew = 15 * time.Minute

// Verify checks req's signature, scope, date and session token against
// creds, region and service, and that the signature covers the host, the
// date, the token and the payload hash header when there is one.
func Verify(req *http.Request, body []byte, creds Credentials, region, service string, now time.Time) error {
	auth, ok := strings.CutPrefix(req.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ")
	if !ok {
		return errors.New("no AWS4-HMAC-SHA256 Authorization header")
	}
	fields := map[string]string{}
	for f := range strings.SplitSeq(auth, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	amzDate := req.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		return fmt.Errorf("X-Amz-Date %q: %w", amzDate, err)
	}
	if d := now.Sub(t); d > maxSkew || d < -maxSkew {
		return fmt.Errorf("X-Amz-Date %s is %s from the server's clock", amzDate, d)
	}
	scope := amzDate[:8] + "/" + region + "/" + service + "/aws4_request"
	if want := creds.AccessKeyID + "/" + scope; fields["Credential"] != want {
		return fmt.Errorf("credential %q, want %q", fields["Credential"], want)
	}
	if got := req.Header.Get("X-Amz-Security-Token"); got != creds.SessionToken {
		return fmt.Errorf("session token %q, want %q", got, creds.SessionToken)
	}
	payloadHash := hexSHA256(body)
	if h := req.Header.Get("X-Amz-Content-Sha256"); h != "" && h != payloadHash {
		return fmt.Errorf("X-Amz-Content-Sha256 %s does not match the body (%s)", h, payloadHash)
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	for _, must := range []string{"host", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"} {
		if (must == "host" || req.Header.Get(must) != "") && !slices.Contains(signed, must) {
			return fmt.Errorf("%s is not signed (SignedHeaders=%s)", must, fields["SignedHeaders"])
		}
	}
	headers := make([][2]string, len(signed))
	for i, name := range signed {
		v := strings.Join(req.Header.Values(name), ",")
		if name == "host" {
			v = req.Host
		}
		headers[i] = [2]string{name, v}
	}
	path, rawQuery, _ := strings.Cut(req.RequestURI, "?")
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return err
	}
	want := Signature(creds.SecretAccessKey, amzDate, region, service,
		CanonicalRequest(req.Method, path, query, headers, payloadHash))
	if !hmac.Equal([]byte(fields["Signature"]), []byte(want)) {
		return fmt.Errorf("signature %s, want %s", fields["Signature"], want)
	}
	return nil
}

// CanonicalRequest is the canonical form of a request: path as sent (encoded
// once, S3's rule), query sorted and encoded, headers lowercased, sorted,
// values trimmed with inner spaces folded.
func CanonicalRequest(method, path string, query url.Values, headers [][2]string, payloadHash string) string {
	var pairs [][2]string
	for k, vs := range query {
		for _, v := range vs {
			pairs = append(pairs, [2]string{escape(k), escape(v)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool { // by name, then value
		return pairs[i][0] < pairs[j][0] || pairs[i][0] == pairs[j][0] && pairs[i][1] < pairs[j][1]
	})
	q := make([]string, len(pairs))
	for i, p := range pairs {
		q[i] = p[0] + "=" + p[1]
	}
	hs := make([][2]string, len(headers))
	for i, h := range headers {
		hs[i] = [2]string{strings.ToLower(h[0]), strings.Join(strings.Fields(h[1]), " ")}
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i][0] < hs[j][0] })
	var canon, names strings.Builder
	for i, h := range hs {
		canon.WriteString(h[0] + ":" + h[1] + "\n")
		if i > 0 {
			names.WriteByte(';')
		}
		names.WriteString(h[0])
	}
	return strings.Join([]string{method, path, strings.Join(q, "&"), canon.String(), names.String(), payloadHash}, "\n")
}

// Signature is the hex signature of a canonical request.
func Signature(secret, amzDate, region, service, canonicalRequest string) string {
	day := amzDate[:8]
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + day + "/" + region + "/" + service + "/aws4_request\n" + hexSHA256([]byte(canonicalRequest))
	key := []byte("AWS4" + secret)
	for _, part := range []string{day, region, service, "aws4_request", toSign} {
		key = hmacSHA256(key, part)
	}
	return hex.EncodeToString(key)
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// escape encodes everything but unreserved characters.
func escape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
