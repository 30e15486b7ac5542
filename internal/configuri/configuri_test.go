package configuri

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestGiven(t *testing.T) {
	for _, args := range [][]string{{"--config", "f.yaml"}, {"-config", "f.yaml"}, {"--config=f.yaml"}, {"-config=f.yaml"}, {"--feature-gates=x", "--config=f.yaml"}} {
		assert.True(t, Given(args), "%q", args)
	}
	for _, args := range [][]string{nil, {"--feature-gates=x"}, {"--configs=f.yaml"}, {"validate"}} {
		assert.False(t, Given(args), "%q", args)
	}
}

func TestDefault(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	assert.Equal(t, Layer, Default(env(nil)))
	assert.Equal(t, Layer, Default(env(map[string]string{Env: ""})), "empty is unset")
	assert.Equal(t, "s3://b/c.yaml", Default(env(map[string]string{Env: "s3://b/c.yaml"})))
}
