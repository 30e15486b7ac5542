// Separate module so the comparison libraries stay out of the distribution's go.mod.
module github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor/internal/jsonscan/libcompare

go 1.26.0

require (
	github.com/lambda-o11y/otelcol-lambda v0.0.0
	github.com/stretchr/testify v1.12.1
	github.com/tidwall/gjson v1.20.2
	github.com/valyala/fastjson v1.6.10
)

require (
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.3.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)

replace github.com/lambda-o11y/otelcol-lambda => ../../../../..
