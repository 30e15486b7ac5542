package awsrequesttest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// AWS's published Signature Version 4 examples: the signature test suite's
// get-vanilla and get-vanilla-query-order-key-case (service "service"), and
// the S3 documentation's GET Object (with Range) and PUT Object examples.
func TestSignatureMatchesAWSExamples(t *testing.T) {
	const (
		suiteSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
		s3Secret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
		s3Host      = "examplebucket.s3.amazonaws.com"
	)
	suite := [][2]string{{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}}
	putBody := "Welcome to Amazon S3."
	for _, tc := range []struct {
		name, secret, date, service, method, path string
		query                                     url.Values
		headers                                   [][2]string
		payloadHash, want                         string
	}{
		{"get-vanilla", suiteSecret, "20150830T123600Z", "service", "GET", "/", nil, suite, emptyHash,
			"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
		{"get-vanilla-query-order-key-case", suiteSecret, "20150830T123600Z", "service", "GET", "/",
			url.Values{"Param2": {"value2"}, "Param1": {"value1"}}, suite, emptyHash,
			"b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
		{"s3 GET object", s3Secret, "20130524T000000Z", "s3", "GET", "/test.txt", nil, [][2]string{
			{"Host", s3Host}, {"Range", "bytes=0-9"}, {"x-amz-content-sha256", emptyHash}, {"x-amz-date", "20130524T000000Z"},
		}, emptyHash, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"},
		{"s3 PUT object", s3Secret, "20130524T000000Z", "s3", "PUT", "/test%24file.text", nil, [][2]string{
			{"Date", "Fri, 24 May 2013 00:00:00 GMT"}, {"Host", s3Host}, {"x-amz-content-sha256", hexSHA256([]byte(putBody))},
			{"x-amz-date", "20130524T000000Z"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
		}, hexSHA256([]byte(putBody)), "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			region := "us-east-1"
			cr := CanonicalRequest(tc.method, tc.path, tc.query, tc.headers, tc.payloadHash)
			assert.Equal(t, tc.want, Signature(tc.secret, tc.date, region, tc.service, cr))
		})
	}
}

// TestVerify signs the S3 GET example as a client would send it now and
// checks that Verify accepts it, then that each change a wrong signer
// could make is refused.
func TestVerify(t *testing.T) {
	creds := Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret", SessionToken: "token"}
	now := time.Now().UTC()
	amzDate := now.Format("20060102T150405Z")
	build := func(mutate func(r *http.Request, signed *[]string)) *http.Request {
		r, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:9/bucket/a%24b.yaml?versionId=1", nil)
		require.NoError(t, err)
		r.RequestURI = "/bucket/a%24b.yaml?versionId=1"
		r.Host = "127.0.0.1:9"
		r.Header.Set("X-Amz-Date", amzDate)
		r.Header.Set("X-Amz-Security-Token", creds.SessionToken)
		r.Header.Set("X-Amz-Content-Sha256", emptyHash)
		signed := []string{"host", "x-amz-content-sha256", "x-amz-date", "x-amz-security-token"}
		if mutate != nil {
			mutate(r, &signed)
		}
		var hs [][2]string
		for _, n := range signed {
			v := r.Header.Get(n)
			if n == "host" {
				v = r.Host
			}
			hs = append(hs, [2]string{n, v})
		}
		sig := Signature(creds.SecretAccessKey, amzDate, "eu-west-1", "s3",
			CanonicalRequest(http.MethodGet, "/bucket/a%24b.yaml", url.Values{"versionId": {"1"}}, hs, emptyHash))
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/"+amzDate[:8]+"/eu-west-1/s3/aws4_request, SignedHeaders="+
			strings.Join(signed, ";")+", Signature="+sig)
		return r
	}
	require.NoError(t, Verify(build(nil), nil, creds, "eu-west-1", "s3", now))

	for name, tc := range map[string]struct {
		req                   *http.Request
		creds                 Credentials
		region, service, want string
	}{
		"other secret":     {build(nil), Credentials{AccessKeyID: "AKID", SecretAccessKey: "other", SessionToken: "token"}, "eu-west-1", "s3", "signature"},
		"other region":     {build(nil), creds, "us-east-1", "s3", "credential"},
		"other service":    {build(nil), creds, "eu-west-1", "secretsmanager", "credential"},
		"no token":         {build(func(r *http.Request, _ *[]string) { r.Header.Del("X-Amz-Security-Token") }), creds, "eu-west-1", "s3", "session token"},
		"token not signed": {build(func(_ *http.Request, s *[]string) { *s = (*s)[:3] }), creds, "eu-west-1", "s3", "x-amz-security-token is not signed"},
		"path changed": {func() *http.Request {
			r := build(nil)
			r.RequestURI = "/bucket/a$b.yaml?versionId=1"
			return r
		}(), creds, "eu-west-1", "s3", "signature"},
	} {
		t.Run(name, func(t *testing.T) {
			assert.ErrorContains(t, Verify(tc.req, nil, tc.creds, tc.region, tc.service, now), tc.want)
		})
	}
	assert.ErrorContains(t, Verify(build(nil), nil, creds, "eu-west-1", "s3", now.Add(time.Hour)), "from the server's clock")
	assert.ErrorContains(t, Verify(build(nil), []byte("x"), creds, "eu-west-1", "s3", now), "does not match the body")
}
