package model

import (
	"errors"
	"math"
	"slices"
)

// TrainConfig holds the gradient descent settings.
type TrainConfig struct {
	Epochs       int
	LearningRate float64
	// L2 is the weight decay that keeps rare features from dominating.
	L2 float64
	// MinDocFreq drops features seen in fewer training sentences.
	MinDocFreq int
}

// DefaultTrainConfig is what cmd/train uses for bow-v1.
var DefaultTrainConfig = TrainConfig{Epochs: 1000, LearningRate: 2, L2: 1e-3, MinDocFreq: 2}

type encoded struct {
	indices []int
	scale   float64
	y       float64
}

// Train fits a model to examples with full-batch gradient descent on the
// L2-regularised logistic loss.
func Train(name string, examples []Example, cfg TrainConfig) (*Model, error) {
	if len(examples) == 0 {
		return nil, errors.New("train: no examples")
	}
	if cfg.Epochs <= 0 || cfg.LearningRate <= 0 || cfg.L2 < 0 || cfg.MinDocFreq < 1 {
		return nil, errors.New("train: epochs, learning rate and min doc freq must be positive, l2 non-negative")
	}
	docFreq := map[string]int{}
	featuresOf := make([][]string, len(examples))
	for i, e := range examples {
		featuresOf[i] = Features(e.Text)
		for _, f := range featuresOf[i] {
			docFreq[f]++
		}
	}
	var vocabulary []string
	for f, n := range docFreq {
		if n >= cfg.MinDocFreq {
			vocabulary = append(vocabulary, f)
		}
	}
	if len(vocabulary) == 0 {
		return nil, errors.New("train: no feature reaches the minimum document frequency")
	}
	slices.Sort(vocabulary)
	index := make(map[string]int, len(vocabulary))
	for i, f := range vocabulary {
		index[f] = i
	}

	data := make([]encoded, len(examples))
	for i, e := range examples {
		d := encoded{}
		if len(featuresOf[i]) > 0 {
			d.scale = 1 / math.Sqrt(float64(len(featuresOf[i])))
		}
		for _, f := range featuresOf[i] {
			if j, ok := index[f]; ok {
				d.indices = append(d.indices, j)
			}
		}
		if e.Positive {
			d.y = 1
		}
		data[i] = d
	}

	weights := make([]float64, len(vocabulary))
	grad := make([]float64, len(vocabulary))
	var bias float64
	n := float64(len(data))
	for range cfg.Epochs {
		clear(grad)
		var gradBias float64
		for _, d := range data {
			z := bias
			for _, j := range d.indices {
				z += weights[j] * d.scale
			}
			g := sigmoid(z) - d.y
			gradBias += g
			for _, j := range d.indices {
				grad[j] += g * d.scale
			}
		}
		for j := range weights {
			weights[j] -= cfg.LearningRate * (grad[j]/n + cfg.L2*weights[j])
		}
		bias -= cfg.LearningRate * gradBias / n
	}
	return &Model{
		name: name, bias: bias, vocabulary: vocabulary, weights: weights, index: index,
		training: TrainingInfo{Examples: len(examples), Epochs: cfg.Epochs, LearningRate: cfg.LearningRate, L2: cfg.L2, MinDocFreq: cfg.MinDocFreq},
	}, nil
}

// WithEvaluation returns the model with train/test accuracy and split recorded.
func (m *Model) WithEvaluation(train, test []Example, splitSeed uint64) *Model {
	c := *m
	c.training.Examples = len(train)
	c.training.TestExamples = len(test)
	c.training.TrainAccuracy = m.Accuracy(train)
	c.training.TestAccuracy = m.Accuracy(test)
	c.training.SplitSeed = splitSeed
	return &c
}
