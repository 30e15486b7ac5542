package model

import (
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
)

// Example is one labelled sentence.
type Example struct {
	Text     string
	Positive bool
}

// ReadCSV reads "label,text" rows after a header; label is positive or negative.
func ReadCSV(r io.Reader) ([]Example, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 2
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 || rows[0][0] != "label" || rows[0][1] != "text" {
		return nil, fmt.Errorf("missing header row \"label,text\"")
	}
	examples := make([]Example, 0, len(rows)-1)
	for i, row := range rows[1:] {
		var positive bool
		switch row[0] {
		case LabelPositive:
			positive = true
		case LabelNegative:
		default:
			return nil, fmt.Errorf("row %d: label %q is neither %q nor %q", i+2, row[0], LabelPositive, LabelNegative)
		}
		if row[1] == "" {
			return nil, fmt.Errorf("row %d: empty text", i+2)
		}
		examples = append(examples, Example{Text: row[1], Positive: positive})
	}
	return examples, nil
}

// Split shuffles each class with seed and holds out testFraction of it, so
// both sets keep the class balance and the split is the same on every run.
func Split(examples []Example, testFraction float64, seed uint64) (train, test []Example) {
	rng := rand.New(rand.NewPCG(seed, ^seed))
	for _, positive := range []bool{true, false} {
		var class []Example
		for _, e := range examples {
			if e.Positive == positive {
				class = append(class, e)
			}
		}
		rng.Shuffle(len(class), func(i, j int) { class[i], class[j] = class[j], class[i] })
		n := int(float64(len(class))*testFraction + 0.5)
		test = append(test, class[:n]...)
		train = append(train, class[n:]...)
	}
	return train, test
}

// The held-out split used by cmd/train and the tests.
const (
	TestFraction        = 0.2
	SplitSeed    uint64 = 7
)
