package awsrequesttest // import "github.com/lambda-o11y/otelcol-lambda/internal/awsrequesttest"

// Env is the environment Lambda would give a function whose role the
// server's credentials belong to, with extra variables on top; Lookup reads
// it in place of os.LookupEnv.
func (s *Server) Env(extra ...string) func(string) (string, bool) {
	env := map[string]string{
		"AWS_ACCESS_KEY_ID":     s.Credentials.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY": s.Credentials.SecretAccessKey,
		"AWS_SESSION_TOKEN":     s.Credentials.SessionToken,
		"AWS_REGION":            s.Region,
	}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// EnvList is Env as KEY=VALUE pairs, for a process.
func (s *Server) EnvList(extra ...string) []string {
	lookup := s.Env(extra...)
	var out []string
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION"} {
		v, _ := lookup(k)
		out = append(out, k+"="+v)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		out = append(out, extra[i]+"="+extra[i+1])
	}
	return out
}
