package awsrequesttest // import "github.com/lambda-o11y/otelcol-lambda/internal/awsrequesttest"

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Server answers S3 GetObject (path-style, GET /BUCKET/KEY) and Secrets
// Manager GetSecretValue on a loopback port, for requests that Verify
// accepts; anything else gets the error AWS would send.
type Server struct {
	URL         string // http://127.0.0.1:PORT
	Credentials Credentials
	Region      string
	Objects     map[string]string // "BUCKET/KEY" -> content
	Secrets     map[string]string // name or ARN -> SecretString
	// Rejected counts requests refused for their signature.
	Rejected atomic.Int64
	srv      *http.Server
}

// Start listens on 127.0.0.1; Close stops it.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.URL = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if r.Header.Get("X-Amz-Target") != "" {
		s.secretsManager(w, r, body)
		return
	}
	s.s3(w, r, body)
}

func (s *Server) s3(w http.ResponseWriter, r *http.Request, body []byte) {
	fail := func(status int, code, msg string) {
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set("X-Amz-Request-Id", "stub-request")
		w.WriteHeader(status)
		_ = xml.NewEncoder(w).Encode(struct {
			XMLName       xml.Name `xml:"Error"`
			Code, Message string
		}{Code: code, Message: msg})
	}
	if err := Verify(r, body, s.Credentials, s.Region, "s3", time.Now()); err != nil {
		s.Rejected.Add(1)
		fail(http.StatusForbidden, "SignatureDoesNotMatch", err.Error())
		return
	}
	content, ok := s.Objects[strings.TrimPrefix(r.URL.Path, "/")]
	if r.Method != http.MethodGet || !ok {
		fail(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return
	}
	_, _ = io.WriteString(w, content)
}

func (s *Server) secretsManager(w http.ResponseWriter, r *http.Request, body []byte) {
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Requestid", "stub-request")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	fail := func(status int, code, msg string) {
		reply(status, map[string]string{"__type": code, "message": msg})
	}
	if err := Verify(r, body, s.Credentials, s.Region, "secretsmanager", time.Now()); err != nil {
		s.Rejected.Add(1)
		fail(http.StatusBadRequest, "InvalidSignatureException", err.Error())
		return
	}
	var in struct {
		SecretID string `json:"SecretId"`
	}
	if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || json.Unmarshal(body, &in) != nil {
		fail(http.StatusBadRequest, "InvalidRequestException", "unsupported request")
		return
	}
	secret, ok := s.Secrets[in.SecretID]
	if !ok {
		fail(http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	reply(http.StatusOK, map[string]string{"Name": in.SecretID, "SecretString": secret})
}

// Start starts a Server for a test, in eu-west-1, expecting temporary
// credentials as a Lambda execution role's, and stops it when the test ends.
func Start(t testing.TB, objects, secrets map[string]string) *Server {
	t.Helper()
	s := &Server{
		Credentials: Credentials{AccessKeyID: "ASIATEST", SecretAccessKey: "role/secret", SessionToken: "role-session"},
		Region:      "eu-west-1",
		Objects:     objects,
		Secrets:     secrets,
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
