package invocationsamplingprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/lambda-o11y/otelcol-lambda/processor/invocationsamplingprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	tests := []struct {
		id      component.ID
		want    *Config
		wantErr []string
	}{
		{id: component.NewID(metadata.Type), want: createDefaultConfig()},
		{id: component.NewIDWithName(metadata.Type, "custom"), want: &Config{
			KeepErrors:           true,
			Slow:                 SlowConfig{Threshold: 2 * time.Second, Percentile: 95, Window: 50, MinInvocations: 10},
			HonorUpstreamSampled: true, SamplingPercentage: 5,
			MaxPendingBytes: 1 << 20, DecisionCacheSize: 100, OrphanAfter: 3,
		}},
		{id: component.NewIDWithName(metadata.Type, "bad"), wantErr: []string{
			"sampling_percentage 101", "slow.threshold -1s", "slow.percentile 100",
			"max_pending_bytes", "decision_cache_size", "orphan_after_invocations",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = cfg.Validate()
			if len(tt.wantErr) > 0 {
				require.Error(t, err)
				for _, w := range tt.wantErr {
					assert.Contains(t, err.Error(), w)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}
