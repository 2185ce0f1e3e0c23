// Package base holds what the streamtest subcommands share: the usage error
// (exit status 2), the exit error of a command that already reported why it
// failed, and flag parsing with GNU-style long names.
package base

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// ErrUsage marks an error in the command line: main prints it with the usage
// line and exits with status 2.
var ErrUsage = errors.New("usage")

// UsageError is a command-line error with the command's usage line.
type UsageError struct {
	Usage string // "streamtest run [flags] [packages] [-- go test flags]"
	Err   error
}

func (e *UsageError) Error() string {
	if e.Usage == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + "\nusage: " + e.Usage
}

func (e *UsageError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUsage) true for every UsageError.
func (e *UsageError) Is(target error) bool { return target == ErrUsage }

// Usagef returns a UsageError for usage with a formatted message.
func Usagef(usage, format string, args ...any) error {
	return &UsageError{Usage: usage, Err: fmt.Errorf(format, args...)}
}

// ExitError ends the command with Code. The command has already printed
// why; main prints Err only when it is not nil.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// FlagSet is a flag.FlagSet for one subcommand, quiet on errors (they come
// back as UsageError) and with `-h` printing the usage and the flags.
type FlagSet struct {
	*flag.FlagSet
	usage string
	help  string
}

// NewFlagSet returns a FlagSet for `streamtest name`. usage is the usage
// line, help a paragraph printed by -h before the flags.
func NewFlagSet(name, usage, help string) *FlagSet {
	fs := flag.NewFlagSet("streamtest "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &FlagSet{FlagSet: fs, usage: usage, help: help}
}

// ErrHelp is returned by Parse after it printed the help for -h.
var ErrHelp = flag.ErrHelp

// Parse parses args, allowing flags after positional arguments
// (`run ./... --strict`); "--" ends the flags. For -h it prints the help to
// out and returns ErrHelp.
func (fs *FlagSet) Parse(args []string, out io.Writer) (positional []string, err error) {
	for {
		if err := fs.FlagSet.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.PrintHelp(out)
				return nil, ErrHelp
			}
			return nil, &UsageError{Usage: fs.usage, Err: err}
		}
		rest := fs.FlagSet.Args()
		// flag stops at "--" (consumed) or at the first non-flag.
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// PrintHelp prints the usage line, the help paragraph and the flags.
func (fs *FlagSet) PrintHelp(out io.Writer) {
	fmt.Fprintf(out, "usage: %s\n\n", fs.usage)
	if fs.help != "" {
		fmt.Fprintf(out, "%s\n\n", strings.TrimSpace(fs.help))
	}
	fmt.Fprintln(out, "Flags:")
	fs.FlagSet.SetOutput(out)
	fs.FlagSet.PrintDefaults()
	fs.FlagSet.SetOutput(io.Discard)
}

// Usage is the usage line.
func (fs *FlagSet) Usage() string { return fs.usage }

// Strings is a repeatable string flag.
type Strings []string

func (s *Strings) String() string { return strings.Join(*s, ",") }

// Set appends v.
func (s *Strings) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// SplitDashDash splits args at the first "--": what is before and what is
// after it. ok is false when there is none.
func SplitDashDash(args []string) (before, after []string, ok bool) {
	for i, a := range args {
		if a == "--" {
			return args[:i], args[i+1:], true
		}
	}
	return args, nil, false
}

// ErrorLines returns one line per problem of err: the errors joined by
// errors.Join one by one, each split at its newlines.
func ErrorLines(err error) []string {
	var out []string
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, ErrorLines(e)...)
		}
		return out
	}
	return strings.Split(err.Error(), "\n")
}
