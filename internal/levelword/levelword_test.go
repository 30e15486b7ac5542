package levelword

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/plog"
)

func TestSeverity(t *testing.T) {
	for _, tt := range []struct {
		text string
		want plog.SeverityNumber
	}{
		{"INFO", plog.SeverityNumberInfo}, {"Information", plog.SeverityNumberInfo}, {"warning", plog.SeverityNumberWarn},
		{"WARN", plog.SeverityNumberWarn}, {"CRITICAL", plog.SeverityNumberFatal}, {"dpanic", plog.SeverityNumberError2},
		{"Verbose", plog.SeverityNumberTrace}, {"notice", plog.SeverityNumberInfo2}, {"emerg", plog.SeverityNumberFatal4},
		{"DEBUG+2", plog.SeverityNumberUnspecified}, {"", plog.SeverityNumberUnspecified},
		// Lambda's JSON log format levels.
		{"TRACE", plog.SeverityNumberTrace}, {"DEBUG", plog.SeverityNumberDebug}, {"ERROR", plog.SeverityNumberError},
		{"FATAL", plog.SeverityNumberFatal},
	} {
		assert.Equal(t, tt.want, Severity(tt.text), tt.text)
	}
}
