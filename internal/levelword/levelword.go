// Package levelword maps the level words loggers write to OpenTelemetry
// severity numbers, so the receiver (Lambda's JSON log format) and the
// jsonlogparse processor (every common logger) read a word the same way.
package levelword // import "github.com/lambda-o11y/otelcol-lambda/internal/levelword"

import "go.opentelemetry.io/collector/pdata/plog"

// Severity maps the level words of Lambda, Python logging, pino, zap, slog,
// logrus, Serilog, log4j/Powertools and syslog, in any ASCII case; unknown
// words map to Unspecified. A switch on the folded word beats a map lookup.
func Severity(s string) plog.SeverityNumber {
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
