package jsonscan // import "github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor/internal/jsonscan"

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Unquote appends the decoded form of the string body q (the bytes between the
// quotes of a string that Scan accepted) to dst, with encoding/json's rules:
// invalid UTF-8 bytes and unpaired surrogates become U+FFFD.
func Unquote(dst []byte, q string) []byte {
	dst = slices.Grow(dst, len(q))
	for r := 0; r < len(q); {
		// Copy the run of bytes that need no decoding in one go.
		start := r
		r = skipPlain(q, r)
		dst = append(dst, q[start:r]...)
		if r >= len(q) {
			break
		}
		c := q[r]
		switch {
		case c == '\\':
			r++
			switch q[r] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				rr := getu4(q[r+1:])
				r += 4
				if utf16.IsSurrogate(rr) {
					if r+2 < len(q) && q[r+1] == '\\' && q[r+2] == 'u' {
						if dec := utf16.DecodeRune(rr, getu4(q[r+3:])); dec != unicode.ReplacementChar {
							dst = utf8.AppendRune(dst, dec)
							r += 6
							break
						}
					}
					rr = unicode.ReplacementChar
				}
				dst = utf8.AppendRune(dst, rr)
			default: // '"', '\\', '/'
				dst = append(dst, q[r])
			}
			r++
		default:
			rr, size := utf8.DecodeRuneInString(q[r:])
			r += size
			dst = utf8.AppendRune(dst, rr)
		}
	}
	return dst
}

// getu4 decodes four hex digits that Scan has already validated.
func getu4(s string) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for i := range 4 {
		v := hexVal(s[i])
		if v < 0 {
			return -1
		}
		r = r<<4 | v
	}
	return r
}

// NumberKind says how Number represents a JSON number.
type NumberKind uint8

const (
	// Int: an integer literal that fits in int64.
	Int NumberKind = iota
	// Float: any other number whose magnitude fits in a float64.
	Float
	// Text: a number beyond float64's range. Its text is kept verbatim rather
	// than turned into ±Inf, which pdata could not carry and which would lose it.
	Text
)

// ParseNumber converts the text of a number token.
func ParseNumber(text string) (NumberKind, int64, float64) {
	if i, ok := smallInt(text); ok {
		return Int, i, 0
	}
	if !strings.ContainsAny(text, ".eE") {
		if i, err := strconv.ParseInt(text, 10, 64); err == nil {
			return Int, i, 0
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if errors.Is(err, strconv.ErrRange) {
		return Text, 0, 0
	}
	return Float, 0, f
}

// smallInt is the common case of ParseNumber without strconv: an integer of
// at most 18 digits, which cannot overflow int64.
func smallInt(text string) (int64, bool) {
	digits := text
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 18 {
		return 0, false
	}
	var v int64
	for i := range len(digits) {
		c := digits[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if len(digits) < len(text) {
		v = -v
	}
	return v, true
}
