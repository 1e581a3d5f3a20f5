//go:build !linux && !darwin

package queue

import "errors"

// diskSpace is not implemented here: the disk guard never refuses writes.
func diskSpace(string) (avail, size int64, err error) {
	return 0, 0, errors.ErrUnsupported
}
