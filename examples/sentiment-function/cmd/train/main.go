// Command train fits the bow-v1 sentiment model to model/data/reviews.csv
// with plain gradient descent, reports train and held-out accuracy, and
// writes the weights file the function embeds.
//
// Run from the module root: go run ./cmd/train
package main

import (
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/lambda-o11y/otelcol-lambda/examples/sentiment-function/model"
)

func main() {
	data := flag.String("data", "model/data/reviews.csv", "labelled CSV (label,text)")
	out := flag.String("out", "model/weights/"+model.DefaultName+".json", "weights file to write")
	cfg := model.DefaultTrainConfig
	flag.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "gradient descent epochs")
	flag.Float64Var(&cfg.LearningRate, "lr", cfg.LearningRate, "learning rate")
	flag.Float64Var(&cfg.L2, "l2", cfg.L2, "L2 weight decay")
	flag.IntVar(&cfg.MinDocFreq, "min-df", cfg.MinDocFreq, "minimum document frequency of a feature")
	flag.Parse()
	if err := run(*data, *out, cfg); err != nil {
		log.Fatal(err)
	}
}

func run(dataPath, out string, cfg model.TrainConfig) error {
	f, err := os.Open(dataPath)
	if err != nil {
		return err
	}
	examples, err := model.ReadCSV(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", dataPath, err)
	}
	train, test := model.Split(examples, model.TestFraction, model.SplitSeed)
	m, err := model.Train(model.DefaultName, train, cfg)
	if err != nil {
		return err
	}
	// Evaluate the weights as written (rounded), which is what the function runs.
	raw, err := m.Marshal()
	if err != nil {
		return err
	}
	if m, err = model.Parse(raw); err != nil {
		return err
	}
	m = m.WithEvaluation(train, test, model.SplitSeed)
	raw, err = m.Marshal()
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, append(raw, '\n'), 0o644); err != nil {
		return err
	}
	t := m.Training()
	fmt.Printf("%s: %d features; train accuracy %.4f (%d sentences), held-out accuracy %.4f (%d sentences); wrote %s\n",
		m.Name(), m.VocabularySize(), t.TrainAccuracy, t.Examples, t.TestAccuracy, t.TestExamples, out)
	return nil
}
