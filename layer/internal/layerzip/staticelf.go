package layerzip

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
)

// machines maps the GOARCH values a layer is built for to the ELF machine
// Lambda's x86_64 and arm64 architectures run.
var machines = map[string]elf.Machine{
	"amd64": elf.EM_X86_64,
	"arm64": elf.EM_AARCH64,
}

// CheckStaticELF returns an error unless r holds a 64-bit little-endian ELF
// executable for goarch that needs no dynamic loader and no shared library:
// Lambda's execution environment only guarantees the kernel, not a libc that
// matches the one a binary was linked against.
func CheckStaticELF(r io.ReaderAt, goarch string) error {
	want, ok := machines[goarch]
	if !ok {
		return fmt.Errorf("unsupported architecture %q (want amd64 or arm64)", goarch)
	}
	f, err := elf.NewFile(r)
	if err != nil {
		return fmt.Errorf("not an ELF file: %w", err)
	}
	defer f.Close()
	var errs []error
	if f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB {
		errs = append(errs, fmt.Errorf("ELF is %s %s, want 64-bit little-endian", f.Class, f.Data))
	}
	if f.Machine != want {
		errs = append(errs, fmt.Errorf("ELF machine is %s, want %s for %s", f.Machine, want, goarch))
	}
	if f.Type != elf.ET_EXEC {
		errs = append(errs, fmt.Errorf("ELF type is %s, want %s", f.Type, elf.ET_EXEC))
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			errs = append(errs, errors.New("has a PT_INTERP program header (dynamically linked)"))
		}
	}
	needed, err := f.DynString(elf.DT_NEEDED)
	if err != nil {
		errs = append(errs, fmt.Errorf("reading DT_NEEDED: %w", err))
	} else if len(needed) > 0 {
		errs = append(errs, fmt.Errorf("needs shared libraries %v", needed))
	}
	return errors.Join(errs...)
}
