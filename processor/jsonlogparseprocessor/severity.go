package jsonlogparseprocessor // import "github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor"

import (
	"go.opentelemetry.io/collector/pdata/plog"
)

// Numeric level schemes, chosen by severity.number_scheme.
const (
	schemePino   = "pino"   // pino/bunyan: 10 trace ... 60 fatal
	schemePython = "python" // logging: 10 DEBUG ... 50 CRITICAL
	schemeSyslog = "syslog" // RFC 5424: 0 emergency ... 7 debug
	schemeOTel   = "otel"   // OpenTelemetry severity numbers 1..24
)

// severityFromNumber maps a numeric level in the configured scheme and
// returns the base level name used as SeverityText.
func severityFromNumber(scheme string, v int64) (plog.SeverityNumber, bool) {
	switch scheme {
	case schemeOTel:
		if v >= 1 && v <= 24 {
			return plog.SeverityNumber(v), true
		}
	case schemeSyslog:
		if v >= 0 && v <= 7 {
			return [...]plog.SeverityNumber{
				plog.SeverityNumberFatal4, plog.SeverityNumberFatal3, plog.SeverityNumberFatal2, plog.SeverityNumberError,
				plog.SeverityNumberWarn, plog.SeverityNumberInfo2, plog.SeverityNumberInfo, plog.SeverityNumberDebug,
			}[v], true
		}
	case schemePython:
		return bucket(v, plog.SeverityNumberDebug, plog.SeverityNumberInfo, plog.SeverityNumberWarn, plog.SeverityNumberError, plog.SeverityNumberFatal)
	default: // pino
		return bucket(v, plog.SeverityNumberTrace, plog.SeverityNumberDebug, plog.SeverityNumberInfo, plog.SeverityNumberWarn, plog.SeverityNumberError, plog.SeverityNumberFatal)
	}
	return plog.SeverityNumberUnspecified, false
}

// bucket maps 1..10 to the first level, 11..20 to the second and so on, and
// anything above the last bucket to the last level.
func bucket(v int64, levels ...plog.SeverityNumber) (plog.SeverityNumber, bool) {
	if v < 1 {
		return plog.SeverityNumberUnspecified, false
	}
	i := int((v - 1) / 10)
	return levels[min(i, len(levels)-1)], true
}

// severityName is the SeverityText given to a numeric level: the OTel short
// name of its range (INFO for 9..12 and so on).
func severityName(n plog.SeverityNumber) string {
	if n < plog.SeverityNumberTrace || n > plog.SeverityNumberFatal4 {
		return ""
	}
	return [...]string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}[(n-1)/4]
}
