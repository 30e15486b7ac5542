package model

import (
	"strings"
	"unicode"
)

// Tokenize lower-cases text and splits it into words of letters and digits.
// Apostrophes are dropped inside words so "don't" and "dont" are one token.
func Tokenize(text string) []string {
	var tokens []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			tokens = append(tokens, b.String())
			b.Reset()
		}
	}
	for _, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		case r == '\'' || r == '’':
		default:
			flush()
		}
	}
	flush()
	return tokens
}

// Features returns the distinct unigrams and bigrams of text, in first-seen
// order. Bigrams carry negation ("not good") that unigrams lose.
func Features(text string) []string {
	tokens := Tokenize(text)
	seen := make(map[string]struct{}, 2*len(tokens))
	features := make([]string, 0, 2*len(tokens))
	add := func(f string) {
		if _, ok := seen[f]; !ok {
			seen[f] = struct{}{}
			features = append(features, f)
		}
	}
	for i, t := range tokens {
		add(t)
		if i > 0 {
			add(tokens[i-1] + " " + t)
		}
	}
	return features
}
