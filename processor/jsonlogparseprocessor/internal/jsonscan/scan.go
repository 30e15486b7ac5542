// Package jsonscan tokenises one JSON text into a flat, reusable token list
// without building any intermediate values. It accepts exactly the texts that
// encoding/json accepts (RFC 8259 grammar, nesting up to 10000 levels) and
// decodes strings the way encoding/json does (invalid UTF-8 and lone
// surrogates become U+FFFD), so a caller can map tokens straight into pdata.
//
// It is hand-written rather than built on valyala/fastjson or tidwall/gjson,
// because it measured clearly better on this processor's corpus (libcompare/,
// results in BENCHMARKS.part.md): about 0.3 us per line against 0.6 us for
// fastjson's non-validating parse and 0.95 us for fastjson or gjson with the
// validation pass they need to reject what encoding/json rejects (fastjson
// parses NaN/Inf and raw control characters in strings; gjson's iterators do
// not validate). fastjson also copies every string out of its own buffer and
// neither reproduces encoding/json's U+FFFD rules. One validating pass that
// records offsets lets the processor alias unescaped keys and values.
package jsonscan // import "github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor/internal/jsonscan"

import (
	"errors"
	"fmt"
	"math/bits"
)

// Kind is the JSON type of a token.
type Kind uint8

const (
	Null Kind = iota
	False
	True
	Number
	String
	Object
	Array
)

// MaxDepth is encoding/json's nesting limit; deeper texts are rejected as it does.
const MaxDepth = 10000

// Token is one JSON value. Offsets index the scanned text.
type Token struct {
	// Start and End delimit the value: for strings the bytes between the
	// quotes, for containers the text from the opening to the closing bracket.
	Start, End int32
	// KeyStart and KeyEnd delimit the member name between its quotes; both are
	// zero for array elements and the root.
	KeyStart, KeyEnd int32
	// Next is the index of the token after this value and all its descendants.
	Next int32
	// Count is the number of members or elements of a container.
	Count int32
	// Depth is 1 for the root.
	Depth int32
	Kind  Kind
	// KeyRaw and Raw report that the key or string value contains escapes or
	// non-ASCII bytes and must go through Unquote.
	KeyRaw, Raw bool
}

// Scanner holds reusable token and stack storage. It is not safe for
// concurrent use; pool it.
type Scanner struct {
	Tokens []Token
	stack  []frame
}

// frame is an open container: its token, and its member count and kind kept
// here so the hot path does not reach back into Tokens for them.
type frame struct {
	tok, count int32
	kind       Kind
}

// ErrSyntax is wrapped by every error Scan returns.
var ErrSyntax = errors.New("invalid JSON")

func syntaxErr(what string, off int) error {
	return fmt.Errorf("%w: %s at offset %d", ErrSyntax, what, off)
}

// Scan tokenises s, which must hold exactly one JSON value surrounded by
// optional whitespace. On success s.Tokens[0] is the root.
func (sc *Scanner) Scan(s string) error {
	sc.Tokens = sc.Tokens[:0]
	sc.stack = sc.stack[:0]
	if len(s) > 1<<31-1 {
		return syntaxErr("text too large", 0)
	}
	i := skipWS(s, 0)
	var keyStart, keyEnd int32
	var keyRaw bool
	for {
		// Parse one value at i.
		if i >= len(s) {
			return syntaxErr("unexpected end", i)
		}
		depth := int32(len(sc.stack)) + 1
		t := Token{Start: int32(i), KeyStart: keyStart, KeyEnd: keyEnd, KeyRaw: keyRaw, Depth: depth}
		keyStart, keyEnd, keyRaw = 0, 0, false
		if n := len(sc.stack); n > 0 {
			sc.stack[n-1].count++
		}
		c := s[i]
		switch {
		case c == '{' || c == '[':
			if depth > MaxDepth {
				return syntaxErr("exceeded max depth", i)
			}
			t.Kind = Object
			if c == '[' {
				t.Kind = Array
			}
			sc.stack = append(sc.stack, frame{tok: int32(len(sc.Tokens)), kind: t.Kind})
			sc.Tokens = append(sc.Tokens, t)
			i = skipWS(s, i+1)
			if i < len(s) && (s[i] == '}' && c == '{' || s[i] == ']' && c == '[') {
				i = sc.close(i)
				goto afterValue
			}
			if c == '{' {
				var err error
				if i, keyStart, keyEnd, keyRaw, err = scanKey(s, i); err != nil {
					return err
				}
			}
			continue
		case c == '"':
			end, raw, err := scanString(s, i)
			if err != nil {
				return err
			}
			t.Kind, t.Start, t.End, t.Raw = String, int32(i+1), int32(end-1), raw
			i = end
		case c == '-' || c >= '0' && c <= '9':
			end, err := scanNumber(s, i)
			if err != nil {
				return err
			}
			t.Kind, t.End = Number, int32(end)
			i = end
		case c == 't':
			if i+4 > len(s) || s[i:i+4] != "true" {
				return syntaxErr("invalid literal", i)
			}
			t.Kind, t.End = True, int32(i+4)
			i += 4
		case c == 'f':
			if i+5 > len(s) || s[i:i+5] != "false" {
				return syntaxErr("invalid literal", i)
			}
			t.Kind, t.End = False, int32(i+5)
			i += 5
		case c == 'n':
			if i+4 > len(s) || s[i:i+4] != "null" {
				return syntaxErr("invalid literal", i)
			}
			t.Kind, t.End = Null, int32(i+4)
			i += 4
		default:
			return syntaxErr("unexpected character", i)
		}
		t.Next = int32(len(sc.Tokens) + 1)
		sc.Tokens = append(sc.Tokens, t)

	afterValue:
		// After a value: close containers or move on to the next member.
		for {
			i = skipWS(s, i)
			n := len(sc.stack)
			if n == 0 {
				if i != len(s) {
					return syntaxErr("data after top-level value", i)
				}
				return nil
			}
			if i >= len(s) {
				return syntaxErr("unexpected end", i)
			}
			parent := sc.stack[n-1].kind
			switch {
			case s[i] == ',':
				i = skipWS(s, i+1)
				if parent == Object {
					var err error
					if i, keyStart, keyEnd, keyRaw, err = scanKey(s, i); err != nil {
						return err
					}
				}
			case s[i] == '}' && parent == Object, s[i] == ']' && parent == Array:
				i = sc.close(i)
				continue
			default:
				return syntaxErr("expected comma or closing bracket", i)
			}
			break
		}
	}
}

// close ends the innermost container at the bracket at i and returns the
// offset after it.
func (sc *Scanner) close(i int) int {
	n := len(sc.stack) - 1
	f := sc.stack[n]
	t := &sc.Tokens[f.tok]
	t.Count = f.count
	t.End = int32(i + 1)
	t.Next = int32(len(sc.Tokens))
	sc.stack = sc.stack[:n]
	return i + 1
}

// scanKey reads `"name" :` at i and returns the offset of the value.
func scanKey(s string, i int) (int, int32, int32, bool, error) {
	if i >= len(s) || s[i] != '"' {
		return 0, 0, 0, false, syntaxErr("expected member name", i)
	}
	end, raw, err := scanString(s, i)
	if err != nil {
		return 0, 0, 0, false, err
	}
	j := skipWS(s, end)
	if j >= len(s) || s[j] != ':' {
		return 0, 0, 0, false, syntaxErr("expected colon", j)
	}
	return skipWS(s, j+1), int32(i + 1), int32(end - 1), raw, nil
}

func skipWS(s string, i int) int {
	// One compare settles the usual case, a value or key right after the
	// previous token.
	for i < len(s) && s[i] <= ' ' && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// plain marks the string bytes that need no attention: everything but the
// quote, the backslash, control characters and non-ASCII bytes.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// skipPlain returns the offset of the first byte at or after j that is not
// plain, testing eight bytes at a time (SWAR): long messages and stack traces
// are mostly plain text.
func skipPlain(s string, j int) int {
	for ; j+8 <= len(s); j += 8 {
		b := s[j : j+8] // a fixed-length window lets the compiler use one 8-byte load
		x := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		// A byte's high bit ends up set when it is below 0x20 (the
		// subtraction wraps), non-ASCII (its own high bit), or a quote or
		// backslash (the xor zeroes it, so minus one wraps). Plain bytes
		// borrow nothing, so the lowest set bit marks exactly the first byte
		// that is not plain; bits above it may be spoilt by borrows.
		if m := ((x - ones*0x20) | x | ((x ^ ones*'"') - ones) | ((x ^ ones*'\\') - ones)) & highs; m != 0 {
			return j + bits.TrailingZeros64(m)/8
		}
	}
	for j < len(s) && plain[s[j]] {
		j++
	}
	return j
}

// scanString validates the string starting with the quote at i and returns
// the offset after its closing quote and whether it needs Unquote.
func scanString(s string, i int) (int, bool, error) {
	raw := false
	for j := i + 1; j < len(s); j++ {
		j = skipPlain(s, j)
		if j >= len(s) {
			break
		}
		c := s[j]
		switch {
		case c == '"':
			return j + 1, raw, nil
		case c == '\\':
			raw = true
			j++
			if j >= len(s) {
				return 0, false, syntaxErr("unexpected end in string", j)
			}
			switch s[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(s) {
					return 0, false, syntaxErr("unexpected end in string escape", j)
				}
				for k := j + 1; k <= j+4; k++ {
					if hexVal(s[k]) < 0 {
						return 0, false, syntaxErr("invalid \\u escape", k)
					}
				}
				j += 4
			default:
				return 0, false, syntaxErr("invalid escape", j)
			}
		case c < 0x20:
			return 0, false, syntaxErr("control character in string", j)
		default: // >= 0x80
			raw = true
		}
	}
	return 0, false, syntaxErr("unterminated string", len(s))
}

func scanNumber(s string, i int) (int, error) {
	j := i
	if s[j] == '-' {
		j++
	}
	if j >= len(s) {
		return 0, syntaxErr("invalid number", j)
	}
	switch {
	case s[j] == '0':
		j++
	case s[j] >= '1' && s[j] <= '9':
		for j < len(s) && isDigit(s[j]) {
			j++
		}
	default:
		return 0, syntaxErr("invalid number", j)
	}
	if j < len(s) && s[j] == '.' {
		j++
		if j >= len(s) || !isDigit(s[j]) {
			return 0, syntaxErr("invalid number", j)
		}
		for j < len(s) && isDigit(s[j]) {
			j++
		}
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		j++
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j >= len(s) || !isDigit(s[j]) {
			return 0, syntaxErr("invalid number", j)
		}
		for j < len(s) && isDigit(s[j]) {
			j++
		}
	}
	return j, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func hexVal(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}
