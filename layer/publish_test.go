package layer

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeAWS stands in for the AWS CLI: it logs each call's arguments, one per
// line, and answers publish-layer-version with version 7 of the named layer.
const fakeAWS = `#!/usr/bin/env bash
set -euo pipefail
printf '%s\n' "$*" >>"$FAKE_AWS_LOG"
if [ "$2" = publish-layer-version ]; then
	while [ "$1" != --layer-name ]; do shift; done
	echo "arn:aws:lambda:eu-west-1:123456789012:layer:$2:7"
fi
`

func TestPublish(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not found")
	}
	tests := []struct {
		name      string
		args      []string
		zips      []string
		zipSize   int64
		wantErr   string
		wantCalls []string
		wantOut   string
	}{
		{
			name: "direct upload",
			args: []string{"--region", "eu-west-1"},
			zips: []string{"amd64", "arm64"},
			wantCalls: []string{
				"lambda publish-layer-version --region eu-west-1 --layer-name otelcol-lambda-amd64 --description OpenTelemetry Collector as a Lambda extension (otelcol-lambda) --license-info Apache-2.0 --compatible-architectures x86_64 --zip-file fileb://DIST/otelcol-lambda-layer-amd64.zip --query LayerVersionArn --output text",
				"lambda publish-layer-version --region eu-west-1 --layer-name otelcol-lambda-arm64 --description OpenTelemetry Collector as a Lambda extension (otelcol-lambda) --license-info Apache-2.0 --compatible-architectures arm64 --zip-file fileb://DIST/otelcol-lambda-layer-arm64.zip --query LayerVersionArn --output text",
			},
			wantOut: "amd64 arn:aws:lambda:eu-west-1:123456789012:layer:otelcol-lambda-amd64:7\narm64 arn:aws:lambda:eu-west-1:123456789012:layer:otelcol-lambda-arm64:7\n",
		},
		{
			name: "public from S3",
			args: []string{"--region", "eu-west-1", "--name", "otel", "--s3-bucket", "bkt", "--description", "d", "--public"},
			zips: []string{"amd64", "arm64"},
			wantCalls: []string{
				"s3 cp --region eu-west-1 --only-show-errors DIST/otelcol-lambda-layer-amd64.zip s3://bkt/otel-amd64/otelcol-lambda-layer-amd64.zip",
				"lambda publish-layer-version --region eu-west-1 --layer-name otel-amd64 --description d --license-info Apache-2.0 --compatible-architectures x86_64 --content S3Bucket=bkt,S3Key=otel-amd64/otelcol-lambda-layer-amd64.zip --query LayerVersionArn --output text",
				"lambda add-layer-version-permission --region eu-west-1 --layer-name otel-amd64 --version-number 7 --statement-id public --action lambda:GetLayerVersion --principal *",
				"s3 cp --region eu-west-1 --only-show-errors DIST/otelcol-lambda-layer-arm64.zip s3://bkt/otel-arm64/otelcol-lambda-layer-arm64.zip",
				"lambda publish-layer-version --region eu-west-1 --layer-name otel-arm64 --description d --license-info Apache-2.0 --compatible-architectures arm64 --content S3Bucket=bkt,S3Key=otel-arm64/otelcol-lambda-layer-arm64.zip --query LayerVersionArn --output text",
				"lambda add-layer-version-permission --region eu-west-1 --layer-name otel-arm64 --version-number 7 --statement-id public --action lambda:GetLayerVersion --principal *",
			},
			wantOut: "amd64 arn:aws:lambda:eu-west-1:123456789012:layer:otel-amd64:7\narm64 arn:aws:lambda:eu-west-1:123456789012:layer:otel-arm64:7\n",
		},
		{
			name:    "missing zip publishes nothing",
			args:    []string{"--region", "eu-west-1"},
			zips:    []string{"amd64"},
			wantErr: "otelcol-lambda-layer-arm64.zip not found: run 'make layer' first",
		},
		{
			name:    "too big to upload directly",
			args:    []string{"--region", "eu-west-1"},
			zips:    []string{"amd64", "arm64"},
			zipSize: 50<<20 + 1,
			wantErr: "otelcol-lambda-layer-amd64.zip is over 50 MB: pass --s3-bucket",
		},
		{
			name:    "no region",
			zips:    []string{"amd64", "arm64"},
			wantErr: "no region: pass --region or set AWS_REGION",
		},
		{
			name:    "flag without value",
			args:    []string{"--region"},
			wantErr: "--region needs a value",
		},
		{
			name:    "unknown flag",
			args:    []string{"--regoin", "eu-west-1"},
			wantErr: "unknown argument: --regoin",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			dist := filepath.Join(dir, "dist")
			require.NoError(t, os.Mkdir(dist, 0o755))
			for _, arch := range tt.zips {
				zip := filepath.Join(dist, "otelcol-lambda-layer-"+arch+".zip")
				require.NoError(t, os.WriteFile(zip, []byte("zip"), 0o644))
				if tt.zipSize > 0 {
					require.NoError(t, os.Truncate(zip, tt.zipSize))
				}
			}
			bin := filepath.Join(dir, "bin")
			require.NoError(t, os.Mkdir(bin, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(bin, "aws"), []byte(fakeAWS), 0o755))
			log := filepath.Join(dir, "aws.log")

			cmd := exec.CommandContext(t.Context(), "bash", append([]string{"publish.sh", "--dist", dist}, tt.args...)...)
			cmd.Env = []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "FAKE_AWS_LOG=" + log}
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()

			calls, readErr := os.ReadFile(log)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, stderr.String(), tt.wantErr)
				assert.ErrorIs(t, readErr, os.ErrNotExist, "aws was called: %s", calls)
				return
			}
			require.NoError(t, err, stderr.String())
			require.NoError(t, readErr)
			assert.Equal(t, strings.Join(tt.wantCalls, "\n")+"\n", strings.ReplaceAll(string(calls), dist, "DIST"))
			assert.Equal(t, tt.wantOut, stdout.String())
		})
	}
}
