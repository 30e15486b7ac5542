// Package model is a bag-of-words logistic regression for sentence sentiment:
// binary unigram and bigram features, L2-normalised per sentence, one weight
// per vocabulary entry and a bias.
package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// Labels returned by Predict.
const (
	LabelPositive = "positive"
	LabelNegative = "negative"
)

// Model is a trained classifier. Create it with Parse or Train.
type Model struct {
	name       string
	bias       float64
	vocabulary []string
	weights    []float64
	index      map[string]int
	training   TrainingInfo
}

// TrainingInfo records how a model was trained; it is stored with the weights.
type TrainingInfo struct {
	Examples      int     `json:"examples"`
	TestExamples  int     `json:"test_examples"`
	TrainAccuracy float64 `json:"train_accuracy"`
	TestAccuracy  float64 `json:"test_accuracy"`
	Epochs        int     `json:"epochs"`
	LearningRate  float64 `json:"learning_rate"`
	L2            float64 `json:"l2"`
	MinDocFreq    int     `json:"min_doc_freq"`
	SplitSeed     uint64  `json:"split_seed"`
}

// file is the JSON weights file written by cmd/train and embedded in the function.
type file struct {
	Name       string       `json:"name"`
	Features   string       `json:"features"`
	Bias       float64      `json:"bias"`
	Vocabulary []string     `json:"vocabulary"`
	Weights    []float64    `json:"weights"`
	Training   TrainingInfo `json:"training"`
}

const featureKind = "binary unigrams+bigrams, l2-normalised"

// Prediction is the outcome of scoring one text.
type Prediction struct {
	Label string
	// Score is the model's probability for Label, in [0.5, 1].
	Score float64
	// Lookups counts feature look-ups in the vocabulary index: the work done.
	Lookups int
}

// Parse reads a weights file and builds the vocabulary index.
func Parse(data []byte) (*Model, error) {
	var f file
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse weights: %w", err)
	}
	switch {
	case f.Name == "":
		return nil, errors.New("weights: name is empty")
	case f.Features != featureKind:
		return nil, fmt.Errorf("weights: features %q, want %q", f.Features, featureKind)
	case len(f.Vocabulary) == 0:
		return nil, errors.New("weights: vocabulary is empty")
	case len(f.Vocabulary) != len(f.Weights):
		return nil, fmt.Errorf("weights: %d vocabulary entries but %d weights", len(f.Vocabulary), len(f.Weights))
	}
	m := &Model{name: f.Name, bias: f.Bias, vocabulary: f.Vocabulary, weights: f.Weights, training: f.Training}
	m.index = make(map[string]int, len(f.Vocabulary))
	for i, term := range f.Vocabulary {
		if _, dup := m.index[term]; dup {
			return nil, fmt.Errorf("weights: vocabulary entry %q appears twice", term)
		}
		if math.IsNaN(f.Weights[i]) || math.IsInf(f.Weights[i], 0) {
			return nil, fmt.Errorf("weights: weight of %q is not finite", term)
		}
		m.index[term] = i
	}
	return m, nil
}

// Marshal writes the weights file, weights rounded to 6 decimals so a
// retrained file only changes where the model did.
func (m *Model) Marshal() ([]byte, error) {
	f := file{Name: m.name, Features: featureKind, Bias: round6(m.bias), Vocabulary: m.vocabulary,
		Weights: make([]float64, len(m.weights)), Training: m.training}
	for i, w := range m.weights {
		f.Weights[i] = round6(w)
	}
	return json.MarshalIndent(f, "", " ")
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// Name is the model's name, e.g. "bow-v1".
func (m *Model) Name() string { return m.name }

// VocabularySize is the number of weighted features.
func (m *Model) VocabularySize() int { return len(m.vocabulary) }

// Training reports how the model was trained.
func (m *Model) Training() TrainingInfo { return m.training }

// Predict scores text.
func (m *Model) Predict(text string) Prediction {
	features := Features(text)
	z := m.bias
	if len(features) > 0 {
		var sum float64
		for _, f := range features {
			if i, ok := m.index[f]; ok {
				sum += m.weights[i]
			}
		}
		z += sum / math.Sqrt(float64(len(features)))
	}
	p := sigmoid(z)
	if p >= 0.5 {
		return Prediction{Label: LabelPositive, Score: p, Lookups: len(features)}
	}
	return Prediction{Label: LabelNegative, Score: 1 - p, Lookups: len(features)}
}

// Accuracy is the fraction of examples whose label Predict gets right.
func (m *Model) Accuracy(examples []Example) float64 {
	if len(examples) == 0 {
		return 0
	}
	correct := 0
	for _, e := range examples {
		if (m.Predict(e.Text).Label == LabelPositive) == e.Positive {
			correct++
		}
	}
	return float64(correct) / float64(len(examples))
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
