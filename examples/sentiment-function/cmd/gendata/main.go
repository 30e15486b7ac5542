// Command gendata writes the labelled training set model/data/reviews.csv.
//
// The sentences are short product and movie reviews composed from hand-written
// phrases, so the set is reproducible (a fixed seed) and reviewable in a diff.
// Negations ("not bad", "not worth it") and phrases shared by both classes
// ("the screen", "I expected") keep it from being separable by one word, and
// hand-written free-form sentences (paired, with the opposite label, where
// possible) add phrasing the templates do not have.
//
// Run from the module root: go run ./cmd/gendata
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"strings"
)

var subjects = []string{
	"the battery", "the screen", "this phone", "the headphones", "the camera",
	"this laptop", "the keyboard", "the charger", "the blender", "this vacuum",
	"the coffee maker", "the delivery", "customer service", "the packaging", "the app",
	"this movie", "the plot", "the acting", "the soundtrack", "the ending",
	"the director's cut", "the sequel", "the dialogue", "the cast", "this series",
	"the hotel", "the food", "the staff", "this book", "the price",
}

var positivePredicates = []string{
	"works perfectly", "is fantastic", "exceeded my expectations", "is excellent",
	"is really impressive", "is a great value", "feels solid and well made",
	"is wonderful", "was a pleasant surprise", "is simply brilliant",
	"is not bad at all", "never disappointed me", "is worth every penny",
	"made me smile", "is beautifully done", "is fast and reliable",
	"is better than I expected", "was delightful", "is superb", "is amazing",
	"kept me hooked", "is a joy to use", "was outstanding", "is exactly what I wanted",
}

var negativePredicates = []string{
	"stopped working after a week", "is terrible", "fell short of my expectations",
	"is awful", "is really disappointing", "is a waste of money", "feels cheap and flimsy",
	"is horrible", "was an unpleasant surprise", "is simply broken",
	"is not good at all", "always disappointed me", "is not worth the money",
	"made me angry", "is poorly done", "is slow and unreliable",
	"is worse than I expected", "was boring", "is mediocre", "is useless",
	"put me to sleep", "is a pain to use", "was dreadful", "is nothing like what I wanted",
}

var positiveClosers = []string{
	"", "", "", "I would buy it again.", "Highly recommended.", "Five stars.",
	"I love it.", "My whole family enjoyed it.", "I will recommend it to friends.",
	"Great job.", "Totally happy with it.",
}

var negativeClosers = []string{
	"", "", "", "I want a refund.", "Do not buy it.", "One star.",
	"I hate it.", "My whole family regretted it.", "I will warn my friends.",
	"Avoid it.", "Totally unhappy with it.",
}

// Free-form sentences, written by hand, added verbatim to each class.
var positiveFreeForm = []string{
	"Best purchase I have made this year.",
	"I laughed from start to finish.",
	"Setup took two minutes and everything just worked.",
	"The story is moving and the actors are great.",
	"Arrived early, well packed, and it looks lovely.",
	"I can finally sleep through the night thanks to this.",
	"Good sound, good battery, good price.",
	"A charming film with a big heart.",
	"The support team solved my problem the same day.",
	"It does what it promises and does it well.",
	"My kids adore it and so do I.",
	"Crisp picture and vivid colours.",
	"I was skeptical but it won me over.",
	"The room was spotless and the view was stunning.",
	"Easily the most enjoyable show I have watched in years.",
	"Comfortable, quiet and beautifully designed.",
	"Nothing to complain about, it is perfect.",
	"I keep recommending it to everyone I know.",
	"The performances are powerful and the pacing is perfect.",
	"Happy with the quality, would order again.",
	"Lovely taste and generous portions.",
	"A pleasure to read, I finished it in one sitting.",
	"Sturdy build and the battery lasts for days.",
	"Great fun for the whole family.",
	"Friendly staff and a fair price.",
	"It made my mornings so much easier.",
	"A clever plot with a satisfying ending.",
	"Works great, no problems at all.",
	"Really good value for the money.",
	"I enjoyed every minute of it.",
}

var negativeFreeForm = []string{
	"Worst purchase I have made this year.",
	"I checked my watch every five minutes.",
	"Setup took two hours and nothing worked.",
	"The story is dull and the actors are wooden.",
	"Arrived late, badly packed, and it looks cheap.",
	"I could not sleep because of the noise it makes.",
	"Bad sound, bad battery, bad price.",
	"A cynical film with no heart at all.",
	"The support team ignored my emails for weeks.",
	"It does not do what it promises.",
	"My kids got bored with it after one day.",
	"Blurry picture and washed out colours.",
	"I wanted to like it but it let me down.",
	"The room was dirty and the view was a wall.",
	"Easily the most tedious show I have watched in years.",
	"Uncomfortable, loud and badly designed.",
	"Nothing works the way it should.",
	"I keep warning everyone I know about it.",
	"The performances are flat and the pacing drags.",
	"Unhappy with the quality, would never order again.",
	"Bland taste and tiny portions.",
	"A chore to read, I gave up halfway.",
	"Flimsy build and the battery dies in an hour.",
	"No fun for anyone in the family.",
	"Rude staff and an unfair price.",
	"It made my mornings so much harder.",
	"A silly plot with a ridiculous ending.",
	"Broke on day one, lots of problems.",
	"Really poor value for the money.",
	"I regretted every minute of it.",
}

var openers = []string{"", "", "", "Honestly, ", "Overall, ", "After a month, ", "To be fair, ", "In short, "}

func main() {
	out := flag.String("out", "model/data/reviews.csv", "output CSV file")
	perClass := flag.Int("per-class", 200, "sentences per label, free-form ones included")
	seed := flag.Uint64("seed", 20261125, "random seed")
	flag.Parse()
	if err := write(*out, *perClass, *seed); err != nil {
		log.Fatal(err)
	}
}

func write(path string, perClass int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	if err := w.Write([]string{"label", "text"}); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, class := range []struct {
		label      string
		predicates []string
		closers    []string
		freeForm   []string
	}{
		{"positive", positivePredicates, positiveClosers, positiveFreeForm},
		{"negative", negativePredicates, negativeClosers, negativeFreeForm},
	} {
		for _, s := range class.freeForm {
			seen[s] = true
			if err := w.Write([]string{class.label, s}); err != nil {
				return err
			}
		}
		for n := len(class.freeForm); n < perClass; {
			s := sentence(rng, class.predicates, class.closers)
			if seen[s] {
				continue
			}
			seen[s] = true
			if err := w.Write([]string{class.label, s}); err != nil {
				return err
			}
			n++
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("wrote %d sentences to %s\n", 2*perClass, path)
	return nil
}

func sentence(rng *rand.Rand, predicates, closers []string) string {
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	opener := pick(openers)
	subject := pick(subjects)
	if opener == "" {
		subject = strings.ToUpper(subject[:1]) + subject[1:]
	}
	s := opener + subject + " " + pick(predicates) + "."
	if c := pick(closers); c != "" {
		s += " " + c
	}
	return s
}
