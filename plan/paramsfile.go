package plan

import (
	"bytes"
	"errors"
	"io"

	"gopkg.in/yaml.v3"
)

// ErrUnknownParam is the kind of a problem with a param that the runbook
// does not declare (see [ParamsFile.Problem]).
var ErrUnknownParam = errors.New("unknown param")

// ParamsFile is a file of params given to a run (csmplan run --params): a
// YAML mapping of param names to values, with where each is written, so
// that a value that does not bind is reported at its FILE:LINE:COL.
//
// Its problems carry no code frame: a params file usually holds a secret,
// and a frame would show the lines around the culprit.
type ParamsFile struct {
	// File is the name given to ParseParams, used in messages.
	File string
	// Values are the params by name, normalized as decoded YAML is
	// ([Normalize]).
	Values map[string]any
	keys   map[string]Pos // where each name is written
	values map[string]Pos // where each value starts
}

// ParseParams reads a params file from src; filename is used in messages.
// An empty file holds no params. A YAML syntax error, a document that is
// not a mapping, a key that is not a name and a duplicate key are
// [*Error]s at their FILE:LINE:COL, every one of them reported.
func ParseParams(filename string, src []byte) (*ParamsFile, error) {
	f := &ParamsFile{File: filename, Values: map[string]any{}, keys: map[string]Pos{}, values: map[string]Pos{}}
	p := &problems{file: filename}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		pos, msg := syntaxError(newSource(src), err)
		p.add(ErrSyntax, pos, 0, "", "%s", msg)
		return nil, p.err()
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		p.add(ErrSyntax, nodePos(&next), 0, "", "a params file holds one YAML document; a second one starts here")
		return nil, p.err()
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	root = deref(root)
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return f, nil
	}
	if root.Kind != yaml.MappingNode {
		p.add(ErrSchema, nodePos(root), 0, "", "want a mapping of param names to values (name: value), got %s", nodeKind(root))
		return nil, p.err()
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode || isMerge(k) {
			p.add(ErrSchema, nodePos(k), 0, "", "want a param name here, got %s", nodeKind(k))
			continue
		}
		if at, dup := f.keys[k.Value]; dup {
			p.add(ErrSchema, nodePos(k), len(k.Value), "", "param %s is given twice (first at line %d)", k.Value, at.Line)
			continue
		}
		var val any
		if err := v.Decode(&val); err != nil {
			p.add(ErrSchema, nodePos(v), 0, "", "param %s: %v", k.Value, err)
			continue
		}
		f.keys[k.Value], f.values[k.Value] = nodePos(k), nodePos(v)
		f.Values[k.Value] = Normalize(val)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return f, nil
}

// Problem returns a problem with the param name as given in the file: of
// kind ErrUnknownParam it points at the name, of any other kind (ErrType,
// for example) at the value. msg should not repeat the value: it may be a
// secret.
func (f *ParamsFile) Problem(name string, kind error, msg string) *Error {
	pos, ok := f.values[name]
	if kind == ErrUnknownParam || !ok {
		pos = f.keys[name]
	}
	return &Error{File: f.File, Pos: pos, Msg: msg, Err: kind}
}

// Has reports whether the file gives the param name.
func (f *ParamsFile) Has(name string) bool {
	_, ok := f.keys[name]
	return ok
}
