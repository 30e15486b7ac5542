package model

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
)

// DefaultName is the model used when a request names none.
const DefaultName = "bow-v1"

//go:embed weights/*.json
var embedded embed.FS

// ErrUnknownModel is returned by Registry.Get for a name it has no weights for.
var ErrUnknownModel = errors.New("unknown model")

// Registry serves models by name and parses each one on first use, so the
// cost lands on the first invocation that needs it (the cold start), not on
// every process start.
type Registry struct {
	files  fs.FS
	mu     sync.Mutex
	loaded map[string]*Model
}

// Embedded is a registry of the weights compiled into the binary.
func Embedded() *Registry { return NewRegistry(embedded) }

// NewRegistry serves the weights files weights/<name>.json of fsys.
func NewRegistry(fsys fs.FS) *Registry {
	return &Registry{files: fsys, loaded: map[string]*Model{}}
}

// Names lists the models the registry can serve.
func (r *Registry) Names() []string {
	entries, _ := fs.Glob(r.files, "weights/*.json")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(path.Base(e), ".json"))
	}
	slices.Sort(names)
	return names
}

// Get returns the named model; loaded is true when this call parsed it.
func (r *Registry) Get(name string) (m *Model, loaded bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m, ok := r.loaded[name]; ok {
		return m, false, nil
	}
	if !slices.Contains(r.Names(), name) {
		return nil, false, fmt.Errorf("%w %q (known: %s)", ErrUnknownModel, name, strings.Join(r.Names(), ", "))
	}
	data, err := fs.ReadFile(r.files, "weights/"+name+".json")
	if err != nil {
		return nil, false, err
	}
	m, err = Parse(data)
	if err != nil {
		return nil, false, fmt.Errorf("model %q: %w", name, err)
	}
	if m.Name() != name {
		return nil, false, fmt.Errorf("model %q: weights file names the model %q", name, m.Name())
	}
	// Warm-up: one prediction touches the index and the tokenizer's tables
	// before the first real request is timed.
	m.Predict("warm up the model")
	r.loaded[name] = m
	return m, true, nil
}
