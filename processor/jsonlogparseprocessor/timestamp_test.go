package jsonlogparseprocessor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestParseTimeText(t *testing.T) {
	utc := func(s string) pcommon.Timestamp {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return pcommon.NewTimestampFromTime(tm)
	}
	tests := []struct {
		in   string
		want pcommon.Timestamp
		ok   bool
	}{
		{"2026-11-25T10:00:00.123Z", utc("2026-11-25T10:00:00.123Z"), true},
		{"2026-11-25T10:00:00Z", utc("2026-11-25T10:00:00Z"), true},
		{"2026-11-25T10:00:00.123456789+01:00", utc("2026-11-25T09:00:00.123456789Z"), true},
		{"2026-11-25T10:00:00.1234567891Z", utc("2026-11-25T10:00:00.123456789Z"), true},
		{"2026-11-25 10:00:00,123", utc("2026-11-25T10:00:00.123Z"), true},
		{"2026-11-25 10:00:00,123+0200", utc("2026-11-25T08:00:00.123Z"), true},
		{"2026-11-25 10:00:00,123-0130", utc("2026-11-25T11:30:00.123Z"), true},
		{"2026-11-25 10:00:00 UTC", utc("2026-11-25T10:00:00Z"), true},
		{"2024-02-29T23:59:59Z", utc("2024-02-29T23:59:59Z"), true},
		{"2000-03-01T00:00:00Z", utc("2000-03-01T00:00:00Z"), true},
		{"1970-01-01T00:00:00Z", 0, true},
		{"2026-02-29T00:00:00Z", 0, false},
		{"2026-13-01T00:00:00Z", 0, false},
		{"2026-11-25T24:00:00Z", 0, false},
		{"2026-11-25T10:00:00.Z", 0, false},
		{"2026-11-25T10:00:00+1", 0, false},
		{"1969-12-31T23:59:59Z", 0, false},
		{"yesterday", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseTimeText(tt.in, nil)
			assert.Equal(t, tt.ok, ok)
			if tt.ok {
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

func TestParseTimeTextZone(t *testing.T) {
	berlin, err := loadZone("Europe/Berlin")
	require.NoError(t, err)
	for _, tt := range []struct{ in, want string }{
		{"2026-11-25 10:00:00,123", "2026-11-25T09:00:00.123Z"}, // CET
		{"2026-07-01 10:00:00", "2026-07-01T08:00:00Z"},         // CEST
		{"2026-11-25T10:00:00Z", "2026-11-25T10:00:00Z"},        // a written zone wins
		{"2026-11-25 10:00:00+0200", "2026-11-25T08:00:00Z"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseTimeText(tt.in, berlin)
			require.True(t, ok)
			want, err := time.Parse(time.RFC3339Nano, tt.want)
			require.NoError(t, err)
			assert.Equal(t, pcommon.NewTimestampFromTime(want), got)
		})
	}
	_, ok := parseTimeText("1970-01-01 00:30:00", berlin) // before the epoch in UTC
	assert.False(t, ok)
	for _, name := range []string{"", "UTC"} {
		z, err := loadZone(name)
		require.NoError(t, err)
		assert.Nil(t, z, "UTC needs no conversion")
	}
}

func TestEpochTimestamp(t *testing.T) {
	want := pcommon.Timestamp(1764064800_123000000)
	for _, tt := range []struct {
		name string
		got  pcommon.Timestamp
	}{
		{"seconds float", must(epochTimestamp(1764064800.123))},
		{"milliseconds", must(epochTimestampInt(1764064800123))},
		{"microseconds", must(epochTimestampInt(1764064800123000))},
		{"nanoseconds", must(epochTimestampInt(1764064800123000000))},
		{"milliseconds float", must(epochTimestamp(1764064800123.0))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, float64(want), float64(tt.got), 1000) // float seconds lose sub-microsecond digits
		})
	}
	_, ok := epochTimestampInt(0)
	assert.False(t, ok)
	_, ok = epochTimestamp(-1)
	assert.False(t, ok)
	got, ok := epochTimestampInt(1764064800)
	assert.True(t, ok)
	assert.Equal(t, pcommon.Timestamp(1764064800_000000000), got)
}

func must(ts pcommon.Timestamp, ok bool) pcommon.Timestamp {
	if !ok {
		return 0
	}
	return ts
}
