package jsonlogparseprocessor // import "github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor"

import (
	"math"
	"time"
	// The zone database is embedded because Lambda's OS-only runtimes
	// (provided.al2023) are not guaranteed to ship one.
	_ "time/tzdata"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// loadZone resolves timestamp_zone. nil stands for UTC, which needs no
// conversion.
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return nil, nil
	}
	return time.LoadLocation(name)
}

// parseTimeText reads RFC 3339 and the shapes loggers write around it:
// `2026-11-25T10:00:00.123Z`, `2026-11-25 10:00:00,123` (Python asctime),
// either with a zone of Z, ±hh:mm, ±hhmm or " UTC", or without a zone (taken
// to be in zone, nil for UTC: Lambda's clock). Hand-parsed because
// time.Parse allocates an error for every layout it rejects.
func parseTimeText(s string, zone *time.Location) (pcommon.Timestamp, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return 0, false
	}
	rest := s[19:]
	nsec := 0
	if len(rest) > 0 && (rest[0] == '.' || rest[0] == ',') {
		i := 1
		for ; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
			if i <= 9 {
				nsec = nsec*10 + int(rest[i]-'0')
			}
		}
		if i == 1 {
			return 0, false
		}
		for d := i; d <= 9; d++ {
			nsec *= 10
		}
		rest = rest[i:]
	}
	if year < 1970 || year > 2261 || day > daysIn(year, month) {
		return 0, false
	}
	offset := 0
	switch {
	case rest == "" && zone != nil:
		ns := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, zone).UnixNano()
		return pcommon.Timestamp(uint64(max(ns, 0))), ns >= 0
	case rest == "" || rest == "Z" || rest == "z" || rest == " UTC" || rest == "UTC":
	case (rest[0] == '+' || rest[0] == '-') && (len(rest) == 6 && rest[3] == ':' || len(rest) == 5):
		hh, okh := digits(rest[1:3])
		mm, okm := digits(rest[len(rest)-2:])
		if !okh || !okm || hh > 23 || mm > 59 {
			return 0, false
		}
		offset = (hh*60 + mm) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	secs := (daysSinceEpoch(year, month, day)*24+int64(hour))*3600 + int64(minute*60+sec-offset)
	if secs < 0 {
		return 0, false
	}
	return pcommon.Timestamp(uint64(secs)*1e9 + uint64(nsec)), true
}

// daysSinceEpoch is the proleptic Gregorian day number relative to
// 1970-01-01 (Howard Hinnant's days_from_civil), cheaper than time.Date.
func daysSinceEpoch(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097 + doe - 719468)
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func digits(s string) (int, bool) {
	n := 0
	for i := range len(s) {
		d := s[i] - '0' // wraps above 9 for every byte that is not a digit
		if d > 9 {
			return 0, false
		}
		n = n*10 + int(d)
	}
	return n, true
}

// epochTimestamp reads a number of seconds, milliseconds, microseconds or
// nanoseconds since the epoch, told apart by magnitude: anything below 1e11 is
// seconds (until year 5138), below 1e14 milliseconds, below 1e17 microseconds.
func epochTimestamp(v float64) (pcommon.Timestamp, bool) {
	if !(v > 0) || math.IsInf(v, 0) {
		return 0, false
	}
	var ns float64
	switch {
	case v < 1e11:
		ns = v * 1e9
	case v < 1e14:
		ns = v * 1e6
	case v < 1e17:
		ns = v * 1e3
	default:
		ns = v
	}
	if ns >= math.MaxInt64 {
		return 0, false
	}
	return pcommon.Timestamp(uint64(math.Round(ns))), true
}

// epochTimestampInt is epochTimestamp without float rounding for integers,
// so nanosecond timestamps keep every digit.
func epochTimestampInt(v int64) (pcommon.Timestamp, bool) {
	switch {
	case v <= 0:
		return 0, false
	case v < 1e11:
		return pcommon.Timestamp(v * 1e9), true
	case v < 1e14:
		return pcommon.Timestamp(v * 1e6), true
	case v < 1e17:
		return pcommon.Timestamp(v * 1e3), true
	}
	return pcommon.Timestamp(v), true
}
