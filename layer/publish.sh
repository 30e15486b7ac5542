#!/usr/bin/env bash
# Publishes the layer zips `make layer` built as two Lambda layer versions,
# <name>-amd64 (x86_64) and <name>-arm64, and prints each LayerVersionArn.
#
# --compatible-runtimes is deliberately not sent: an extension is a separate
# process and works with every runtime; the field only filters ListLayers.
set -euo pipefail

usage() {
	cat <<'USAGE'
Usage: layer/publish.sh [options]

  --region REGION     AWS region (default: $AWS_REGION, then $AWS_DEFAULT_REGION)
  --name NAME         layer name prefix; publishes NAME-amd64 and NAME-arm64
                      (default: $LAYER_NAME, then otelcol-lambda)
  --dist DIR          directory holding otelcol-lambda-layer-{amd64,arm64}.zip
                      (default: $LAYER_DIST, then dist/ at the repository root)
  --s3-bucket BUCKET  upload the zips to this bucket and publish from there
                      (default: $LAYER_S3_BUCKET; needed for zips over 50 MB)
  --description TEXT  layer description
  --public            let every AWS account use the new versions
                      (add-layer-version-permission --principal '*')
  -h, --help          show this help

Output: one line per architecture, "<arch> <LayerVersionArn>".
USAGE
}

die() {
	echo "publish.sh: $*" >&2
	exit 1
}

# Lambda's limit for a zip uploaded in the request itself.
max_direct_upload=$((50 * 1024 * 1024))

region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
name="${LAYER_NAME:-otelcol-lambda}"
dist="${LAYER_DIST:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/dist}"
s3_bucket="${LAYER_S3_BUCKET:-}"
description="OpenTelemetry Collector as a Lambda extension (otelcol-lambda)"
public=false

while [ $# -gt 0 ]; do
	case "$1" in
	--region | --name | --dist | --s3-bucket | --description)
		if [ $# -lt 2 ] || [ -z "$2" ]; then
			die "$1 needs a value"
		fi
		case "$1" in
		--region) region="$2" ;;
		--name) name="$2" ;;
		--dist) dist="$2" ;;
		--s3-bucket) s3_bucket="$2" ;;
		--description) description="$2" ;;
		esac
		shift 2
		;;
	--public)
		public=true
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage >&2
		die "unknown argument: $1"
		;;
	esac
done

[ -n "$region" ] || die "no region: pass --region or set AWS_REGION"
command -v aws >/dev/null || die "the AWS CLI (aws) is not on PATH"

# GOARCH of the zip, and the Lambda architecture it runs on.
arches=("amd64 x86_64" "arm64 arm64")

# Check every zip before publishing anything, so a missing one does not leave
# a half-published release.
for pair in "${arches[@]}"; do
	arch="${pair%% *}"
	zip="$dist/otelcol-lambda-layer-$arch.zip"
	[ -f "$zip" ] || die "$zip not found: run 'make layer' first (or pass --dist)"
	if [ -z "$s3_bucket" ] && [ "$(wc -c <"$zip")" -gt "$max_direct_upload" ]; then
		die "$zip is over 50 MB: pass --s3-bucket to publish it from S3"
	fi
done

for pair in "${arches[@]}"; do
	arch="${pair%% *}"
	lambda_arch="${pair##* }"
	zip="$dist/otelcol-lambda-layer-$arch.zip"
	layer="$name-$arch"
	if [ -n "$s3_bucket" ]; then
		key="$layer/$(basename "$zip")"
		echo "uploading $zip to s3://$s3_bucket/$key" >&2
		aws s3 cp --region "$region" --only-show-errors "$zip" "s3://$s3_bucket/$key" >&2
		content=(--content "S3Bucket=$s3_bucket,S3Key=$key")
	else
		content=(--zip-file "fileb://$zip")
	fi
	echo "publishing $layer ($lambda_arch) in $region" >&2
	arn="$(aws lambda publish-layer-version \
		--region "$region" \
		--layer-name "$layer" \
		--description "$description" \
		--license-info Apache-2.0 \
		--compatible-architectures "$lambda_arch" \
		"${content[@]}" \
		--query LayerVersionArn --output text)"
	case "$arn" in
	arn:*:layer:"$layer":*) ;;
	*) die "unexpected answer from publish-layer-version for $layer: $arn" ;;
	esac
	if [ "$public" = true ]; then
		aws lambda add-layer-version-permission \
			--region "$region" \
			--layer-name "$layer" \
			--version-number "${arn##*:}" \
			--statement-id public \
			--action lambda:GetLayerVersion \
			--principal '*' >/dev/null
		echo "made $arn public" >&2
	fi
	echo "$arch $arn"
done
