package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// command is a subcommand's flags. Flags may come before, between or after
// its arguments (`dead-letters replay 7 --admin URL`), up to a "--" after
// which everything is an argument; -h or --help prints the usage on stdout
// and exits 0.
type command struct {
	*flag.FlagSet
	usage          string // synopsis and description, printed before the flags
	stdout, stderr io.Writer
}

func newCommand(name, usage string, stdout, stderr io.Writer) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // parse prints the usage, on the stream that fits
	return &command{FlagSet: fs, usage: usage, stdout: stdout, stderr: stderr}
}

// parse parses args and returns the arguments that are not flags. When ok
// is false the command ends with code: 0 after --help, 2 after a mistake
// (the flag package has said which, and the usage follows it).
func (c *command) parse(args []string) (rest []string, code int, ok bool) {
	for {
		err := c.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			c.printUsage(c.stdout)
			return nil, 0, false
		}
		if err != nil {
			c.printUsage(c.stderr)
			return nil, 2, false
		}
		left := c.Args()
		if len(left) == 0 {
			return rest, 0, true
		}
		if used := len(args) - len(left); used > 0 && args[used-1] == "--" {
			return append(rest, left...), 0, true
		}
		rest = append(rest, left[0])
		args = left[1:]
	}
}

// fail reports a mistake in the command line, with the usage, and returns
// the exit code for it.
func (c *command) fail(format string, a ...any) int {
	fmt.Fprintf(c.stderr, "switchyard %s: %s\n", c.Name(), fmt.Sprintf(format, a...))
	c.printUsage(c.stderr)
	return 2
}

func (c *command) printUsage(w io.Writer) {
	fmt.Fprint(w, c.usage)
	fmt.Fprintln(w, "\nflags (before, between or after the arguments):")
	c.SetOutput(w)
	c.PrintDefaults()
	c.SetOutput(c.stderr)
}
