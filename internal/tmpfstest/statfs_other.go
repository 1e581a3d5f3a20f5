//go:build !linux

package tmpfstest

import "errors"

// Available is the space available to a writer on dir's file system.
func Available(string) (int64, error) { return 0, errors.ErrUnsupported }
