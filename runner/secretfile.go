package runner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// MaxSecretFile is the largest file [ReadSecretFile] reads: a secret is a
// password or a key, not a document.
const MaxSecretFile = 1 << 20

// ReadSecretFile returns the content of the file that holds a secret param
// (given as @FILE on the command line or in a fleet file), without its
// last line break (\n or \r\n). A file larger than MaxSecretFile is
// refused. Errors name the file, never its content.
func ReadSecretFile(name string) (string, error) {
	if name == "" {
		return "", errors.New("no file name after @")
	}
	fh, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, MaxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	if len(b) > MaxSecretFile {
		return "", fmt.Errorf("%s: larger than %d bytes: not a secret", name, MaxSecretFile)
	}
	s := string(b)
	if t, ok := strings.CutSuffix(s, "\n"); ok {
		s = strings.TrimSuffix(t, "\r")
	}
	return s, nil
}
