package plan

import (
	"bytes"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/csmplan/csmplan/schema"
)

// Document is a YAML file csmplan loads besides runbooks (a fleet file,
// say), read as a runbook is read, so that its problems are [*Error]s
// located and drawn ([Render]) as a runbook's are. Collect problems with
// Add and AddSchema, then return Err.
type Document struct {
	// File is the name given to ParseDocument, used in messages.
	File string
	// Root is the top mapping of the document; nil when it could not be
	// read (Err then says why).
	Root *yaml.Node
	p    *problems
}

// ParseDocument reads src, a document of the kind named by what (such as
// "fleet file"), as [Parse] reads a runbook: a file over MaxSize, an empty
// one, one that is not text, a YAML syntax error, a second document, a top
// value that is not a mapping, duplicate keys, nesting too deep and aliases
// that expand too much are problems at their FILE:LINE:COL (Root is then
// nil). The document's problems, these and those added later, are returned
// by Err.
func ParseDocument(filename string, src []byte, what string) *Document {
	doc := &Document{File: filename, p: &problems{file: filename, src: newSource(src), schema: map[Pos]bool{}}}
	d := &decoder{p: doc.p}
	switch {
	case len(src) > MaxSize:
		d.p.add(ErrTooLarge, d.p.src.pos(MaxSize), 0, "", "%s is larger than the limit of %d MiB, which it passes here", what, MaxSize>>20)
		return doc
	case len(bytes.TrimSpace(src)) == 0:
		d.p.add(ErrSyntax, Pos{Line: 1, Column: 1}, 0, "", "%s is empty: want a mapping", what)
		return doc
	}
	if pos, ok := binaryAt(d.p.src); ok {
		d.p.add(ErrSyntax, pos, 1, "", "not a text file: invalid UTF-8 or a NUL byte here")
		return doc
	}
	root := d.parseWhole(src)
	if root == nil {
		for _, e := range d.p.list { // parseWhole speaks of runbooks
			e.Msg = strings.Replace(e.Msg, "a runbook file holds", "a "+what+" holds", 1)
		}
		return doc
	}
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		d.p.add(ErrSchema, nodePos(root), 0, "", "a %s is a mapping; got %s", what, nodeKind(root))
		return doc
	}
	if !d.checkDuplicates(root, 0) {
		return doc
	}
	if alias, msg := aliasProblem(root); alias != nil {
		d.p.add(ErrTooLarge, nodePos(alias), len(alias.Value)+1, "", "%s", msg)
		return doc
	}
	doc.Root = root
	return doc
}

// Add records a problem of the kind (one of the Err* sentinels, or any
// error of the caller's) at pos; length is the culprit's length on its
// line (0: unknown), suggestion a "did you mean", or "".
func (d *Document) Add(kind error, pos Pos, length int, suggestion, format string, args ...any) {
	d.p.add(kind, pos, length, suggestion, format, args...)
}

// AddSoft records a problem that is dropped if a schema problem (see
// AddSchema) is at the same position: the schema says it first.
func (d *Document) AddSoft(kind error, pos Pos, length int, format string, args ...any) {
	d.p.addSoft(kind, pos, length, format, args...)
}

// AddSchema records the problems of a schema check of the document, of
// kind ErrSchema.
func (d *Document) AddSchema(ps []schema.Problem) {
	for _, pr := range ps {
		pos := Pos{Line: pr.Line, Column: pr.Column}
		d.p.add(ErrSchema, pos, 0, pr.Suggestion, "%s", pr.Message)
		d.p.schema[pos] = true
	}
}

// Err returns every problem recorded, sorted by position, each an
// [*Error] (see [Errors]); nil when there are none.
func (d *Document) Err() error { return d.p.err() }

// Pairs calls f for each key and value of a mapping node, aliases
// followed and merge keys (<<: *anchor) applied, as the runbook loader and
// the schema check read them. A node that is not a mapping has none.
func Pairs(n *yaml.Node, f func(k, v *yaml.Node)) { pairs(n, f) }

// Items returns the items of a sequence node, aliases followed; nil for a
// node that is not a sequence.
func Items(n *yaml.Node) []*yaml.Node { return items(n) }

// NodePos returns the position of a node.
func NodePos(n *yaml.Node) Pos { return nodePos(n) }

// NodeKind describes a node's kind for messages: "a list", "a mapping",
// "null", or the scalar quoted.
func NodeKind(n *yaml.Node) string { return nodeKind(n) }
