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

// severityFromText maps the level words of Python logging, pino, zap, slog,
// logrus, Serilog, log4j/Powertools and syslog, in any ASCII case; unknown
// words map to Unspecified. A switch on the folded word beats a map lookup.
func severityFromText(s string) plog.SeverityNumber {
	if len(s) > len("informational") {
		return plog.SeverityNumberUnspecified
	}
	var b [16]byte
	switch string(lowerASCII(b[:0], s)) {
	case "trace", "verbose", "vrb":
		return plog.SeverityNumberTrace
	case "debug", "dbg":
		return plog.SeverityNumberDebug
	case "info", "information", "informational", "inf":
		return plog.SeverityNumberInfo
	case "notice":
		return plog.SeverityNumberInfo2
	case "warn", "warning", "wrn":
		return plog.SeverityNumberWarn
	case "error", "err", "eror":
		return plog.SeverityNumberError
	case "dpanic":
		return plog.SeverityNumberError2
	case "panic":
		return plog.SeverityNumberFatal2
	case "fatal", "critical", "ftl":
		return plog.SeverityNumberFatal
	case "crit":
		return plog.SeverityNumberFatal2
	case "alert":
		return plog.SeverityNumberFatal3
	case "emerg", "emergency":
		return plog.SeverityNumberFatal4
	}
	return plog.SeverityNumberUnspecified
}

func lowerASCII(dst []byte, s string) []byte {
	for i := range len(s) {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

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
