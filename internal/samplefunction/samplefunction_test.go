package samplefunction

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestXRay(t *testing.T) {
	traceID, parent := XRay("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	assert.Equal(t, "5759e988bd862e3fe1be46a994272793", traceID.String())
	assert.Equal(t, "53995c3f42cd8ad8", parent.String())
	for _, bad := range []string{"", "Root=1-zz59e988-bd862e3fe1be46a994272793", "Root=1-5759e988", "Parent=xyz"} {
		traceID, parent := XRay(bad)
		assert.True(t, traceID.IsEmpty() && parent.IsEmpty(), bad)
	}
}
