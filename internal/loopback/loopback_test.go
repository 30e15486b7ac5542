package loopback

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFreeAddrIsUsableLoopback(t *testing.T) {
	addr, err := FreeAddr()
	require.NoError(t, err)
	host, _, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host)
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err, "the port is free again")
	require.NoError(t, ln.Close())
}

// TestFreeAddrNeverRepeatsAndAvoidsEphemeralPorts: the kernel's port-0
// trick can return one port twice in a row, and its ephemeral range is where
// client sockets take ports from; FreeAddr avoids both.
func TestFreeAddrNeverRepeatsAndAvoidsEphemeralPorts(t *testing.T) {
	seen := map[string]bool{}
	for range 500 {
		addr, err := FreeAddr()
		require.NoError(t, err)
		require.False(t, seen[addr], "handed out twice: %s", addr)
		seen[addr] = true
		_, p, err := net.SplitHostPort(addr)
		require.NoError(t, err)
		port, err := strconv.Atoi(p)
		require.NoError(t, err)
		if ephemeralLow()-lowestPort >= 1000 {
			assert.GreaterOrEqual(t, port, lowestPort)
			assert.Less(t, port, ephemeralLow())
		}
	}
}
