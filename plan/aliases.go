package plan

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/csmplan/csmplan/schema"
)

// Each alias (*name) stands for a copy of its anchor's node, and every walk
// of the document (the decoder, the schema, the argument checks of each
// step) pays for every copy. A merge key is an alias too (<<: *a), and so
// is each item of a list merge (<<: [*a, *b]). aliasProblem measures what
// the aliases add, in one pass over the document as written, before any of
// those walks runs, and refuses a document that grows too much.
const (
	// maxAliasNodes bounds the nodes aliases add: the schema's bound, so
	// that a document the loader accepts never trips the schema's.
	maxAliasNodes = schema.MaxAliasExpansion
	// maxAliasText bounds the text of the scalars aliases repeat: no more
	// than a runbook may hold.
	maxAliasText = MaxSize
)

// expansion is the size of a node with its aliases expanded.
type expansion struct{ nodes, text int }

func (a expansion) plus(b expansion) expansion {
	return expansion{a.nodes + b.nodes, a.text + b.text}
}

type aliasWalk struct {
	done  map[*yaml.Node]expansion // anchored nodes walked
	open  map[*yaml.Node]bool      // anchored nodes being walked
	added expansion                // what aliases added so far
	// culprit is the alias at which the document grew too much, or that
	// is inside its own anchor.
	culprit *yaml.Node
	msg     string
}

// aliasProblem returns the alias at which the aliases of the document
// rooted at n add more than the bounds, or that repeats its own anchor,
// with a message; nil if there is none. The document must be nested
// less than Go's stack allows (checkDuplicates bounds it first).
func aliasProblem(n *yaml.Node) (*yaml.Node, string) {
	w := aliasWalk{done: map[*yaml.Node]expansion{}, open: map[*yaml.Node]bool{}}
	w.walk(n)
	return w.culprit, w.msg
}

// walk returns the expanded size of n. Anchors come before their aliases
// in a YAML document, so an alias finds its anchor walked, or being walked
// (the alias is inside it).
func (w *aliasWalk) walk(n *yaml.Node) expansion {
	if w.culprit != nil {
		return expansion{}
	}
	if n.Kind == yaml.AliasNode {
		t := n.Alias
		if t == nil {
			return expansion{nodes: 1}
		}
		if w.open[t] {
			w.culprit = n
			w.msg = fmt.Sprintf("alias *%s is inside its own anchor &%s: it would repeat itself forever", n.Value, t.Anchor)
			return expansion{}
		}
		e := w.done[t]
		e.nodes++ // the alias
		w.added = w.added.plus(e)
		switch {
		case w.added.nodes > maxAliasNodes:
			w.culprit = n
			w.msg = fmt.Sprintf("aliases expand to more than %d nodes", maxAliasNodes)
		case w.added.text > maxAliasText:
			w.culprit = n
			w.msg = fmt.Sprintf("aliases repeat more than %d MiB of text", maxAliasText>>20)
		}
		return e
	}
	if n.Anchor != "" {
		w.open[n] = true
	}
	e := expansion{nodes: 1}
	if n.Kind == yaml.ScalarNode {
		e.text = len(n.Value)
	}
	for _, c := range n.Content {
		e = e.plus(w.walk(c))
	}
	if n.Anchor != "" {
		delete(w.open, n)
		w.done[n] = e
	}
	return e
}
