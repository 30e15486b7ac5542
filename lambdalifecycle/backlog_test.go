package lambdalifecycle

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestOldest(t *testing.T) {
	r := &Registry{}
	assert.True(t, r.Oldest().IsZero(), "nothing registered")
	t0 := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	var spool, queue time.Time
	r.RegisterBacklog(func() time.Time { return spool })
	unregister := r.RegisterBacklog(func() time.Time { return queue })
	assert.True(t, r.Oldest().IsZero(), "both empty")
	spool, queue = t0.Add(time.Second), t0
	assert.Equal(t, t0, r.Oldest())
	spool = time.Time{}
	assert.Equal(t, t0, r.Oldest(), "an empty one does not count")
	unregister()
	assert.True(t, r.Oldest().IsZero())
}
