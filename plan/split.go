package plan

import (
	"bytes"
	"regexp"
	"runtime"
	"sync"

	"gopkg.in/yaml.v3"
)

// Large runbooks are mostly their steps list, and yaml.v3 parses about
// 10-15 MB/s on one core. parseSplit parses the items of a top-level
// `steps:` block sequence in chunks on several cores, and the rest of the
// document (with `steps: []` in place of the block) on its own, then grafts
// the items in with their true line numbers. It gives up (returning nil)
// whenever the document is not of the plain shape it handles: then, and for
// every document with a problem, the whole document is parsed at once, so
// that errors are reported exactly as yaml.v3 finds them.

// splitMin is the size from which splitting pays.
const splitMin = 256 << 10

var stepsKeyRE = regexp.MustCompile(`(?m)^steps:[ \t]*(#.*)?\r?$`)

func parseSplit(src []byte) *yaml.Node {
	workers := min(runtime.GOMAXPROCS(0), 8)
	if len(src) < splitMin || workers < 2 {
		return nil
	}
	// Anchors and aliases may cross chunks; document markers would start
	// another document; tabs make indentation ambiguous. "[*]" is a path.
	if bytes.IndexByte(src, '&') >= 0 || bytes.Count(src, []byte("*")) != bytes.Count(src, []byte("[*]")) ||
		bytes.Contains(src, []byte("\n---")) || bytes.Contains(src, []byte("\n...")) || bytes.HasPrefix(src, []byte("---")) ||
		bytes.IndexByte(src, '\t') >= 0 {
		return nil
	}
	keys := stepsKeyRE.FindAllIndex(src, -1)
	if len(keys) != 1 {
		return nil
	}
	blockStart := keys[0][1] + 1 // the line after "steps:"
	if blockStart >= len(src) {
		return nil
	}
	// The block ends at the next line that starts in column 1 with
	// something other than a comment.
	blockEnd := len(src)
	var items []int // offsets of the lines that start an item
	indent := -1
	for off := blockStart; off < len(src); {
		end := bytes.IndexByte(src[off:], '\n')
		if end < 0 {
			end = len(src) - off
		}
		line := src[off : off+end]
		if len(line) > 0 && line[0] != ' ' && line[0] != '#' && line[0] != '\r' {
			blockEnd = off
			break
		}
		n := len(line) - len(bytes.TrimLeft(line, " "))
		rest := line[n:]
		if len(rest) > 0 && rest[0] == '-' && (len(rest) == 1 || rest[1] == ' ' || rest[1] == '\r') {
			if indent < 0 {
				indent = n
			}
			if n == indent {
				items = append(items, off)
			}
		}
		off += end + 1
	}
	if len(items) < 2*workers {
		return nil
	}
	// The skeleton keeps every line where it was: the block becomes
	// "steps: []" followed by as many empty lines.
	skeleton := make([]byte, 0, len(src)-(blockEnd-blockStart)+bytes.Count(src[blockStart:blockEnd], []byte("\n")))
	skeleton = append(skeleton, src[:keys[0][0]]...)
	skeleton = append(skeleton, "steps: []\n"...)
	skeleton = append(skeleton, bytes.Repeat([]byte("\n"), bytes.Count(src[blockStart:blockEnd], []byte("\n")))...)
	skeleton = append(skeleton, src[blockEnd:]...)

	type chunk struct {
		start, end int // byte offsets in src
		line       int // 1-based line of start
		items      []*yaml.Node
		ok         bool
	}
	chunks := make([]chunk, workers)
	per := (len(items) + workers - 1) / workers
	for w := range chunks {
		first := w * per
		last := min(first+per, len(items))
		if first >= last {
			chunks = chunks[:w]
			break
		}
		c := &chunks[w]
		c.start = items[first]
		c.end = blockEnd
		if last < len(items) {
			c.end = items[last]
		}
		c.line = bytes.Count(src[:c.start], []byte("\n")) + 1
	}
	var root yaml.Node
	var wg sync.WaitGroup
	for i := range chunks {
		wg.Add(1)
		go func(c *chunk) {
			defer wg.Done()
			var doc yaml.Node
			if yaml.Unmarshal(src[c.start:c.end], &doc) != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.SequenceNode {
				return
			}
			c.items = doc.Content[0].Content
			for _, it := range c.items {
				shiftLines(it, c.line-1)
			}
			c.ok = true
		}(&chunks[i])
	}
	err := yaml.Unmarshal(skeleton, &root)
	wg.Wait()
	if err != nil || len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	var steps *yaml.Node
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "steps" {
			steps = m.Content[i+1]
		}
	}
	if steps == nil || steps.Kind != yaml.SequenceNode || len(steps.Content) != 0 {
		return nil
	}
	all := make([]*yaml.Node, 0, len(items))
	for _, c := range chunks {
		if !c.ok {
			return nil
		}
		all = append(all, c.items...)
	}
	if len(all) != len(items) {
		return nil
	}
	steps.Content = all
	steps.Style = 0
	steps.Line, steps.Column = all[0].Line, indent+1
	return &root
}

func shiftLines(n *yaml.Node, by int) {
	n.Line += by
	for _, c := range n.Content {
		shiftLines(c, by)
	}
}
