// Command mkzip writes the otelcol-lambda Lambda layer zip for one
// architecture. The Makefile's layer target runs it for amd64 and arm64:
//
//	go run ./layer/cmd/mkzip -arch amd64 -launcher dist/amd64/otelcol-lambda-launcher \
//	    -collector dist/amd64/otelcol-lambda -config collector-config.yaml \
//	    -o dist/otelcol-lambda-layer-amd64.zip
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/lambda-o11y/otelcol-lambda/layer/internal/layerzip"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mkzip:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("mkzip", flag.ContinueOnError)
	arch := fs.String("arch", "", "GOARCH of the binary: amd64 or arm64")
	launcher := fs.String("launcher", "", "path of the launcher binary (layer/launcher): the extension Lambda starts")
	collector := fs.String("collector", "", "path of the otelcol-lambda collector binary")
	config := fs.String("config", "", "path of the default collector config")
	out := fs.String("o", "", "path of the layer zip to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, f := range []struct{ name, value string }{
		{"-arch", *arch}, {"-launcher", *launcher}, {"-collector", *collector}, {"-config", *config}, {"-o", *out},
	} {
		if f.value == "" {
			return fmt.Errorf("%s is required", f.name)
		}
	}
	if err := layerzip.WriteFile(*out, *arch, *launcher, *collector, *config); err != nil {
		return err
	}
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d bytes\n", *out, st.Size())
	return nil
}
