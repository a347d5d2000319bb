package plan

import (
	"fmt"
	"strings"

	"github.com/csmplan/csmplan/schema"
)

// Suggestions ("did you mean") compare a misspelt name with every name it
// may stand for, so a runbook with many bad references to many names would
// cost their product. A load therefore spends at most maxSuggestWork on
// them, counted in bytes compared (the length of the word times the total
// length of the candidates); beyond it, problems are still reported, only
// without a suggestion. Names longer than maxSuggestLen bytes are neither
// corrected nor suggested.
const (
	maxSuggestWork = 1 << 22
	maxSuggestLen  = 64
)

// names are candidates for suggestions, in the order they are defined,
// with the running total of their lengths so that the cost of comparing a
// word with the first k of them is known before it is paid.
type names struct {
	list []string
	size []int // size[k] is the total length of list[:k]
}

func (n *names) add(name string) {
	if len(name) > maxSuggestLen || name == "" {
		return
	}
	if n.size == nil {
		n.size = []int{0}
	}
	n.list = append(n.list, name)
	n.size = append(n.size, n.size[len(n.size)-1]+len(name))
}

// suggester makes suggestions within the load's budget, remembering each.
type suggester struct {
	spent int
	memo  map[suggestion]string
}

type suggestion struct {
	from *names
	k    int
	word string
}

// suggest returns the name among the first k of from closest to word (as
// schema.Suggest decides), or "".
func (s *suggester) suggest(word string, from *names, k int) string {
	k = min(k, len(from.list))
	if len(word) > maxSuggestLen || word == "" || k == 0 {
		return ""
	}
	key := suggestion{from, k, word}
	if r, ok := s.memo[key]; ok {
		return r
	}
	cost := len(word)*from.size[k] + 16*k
	if s.spent+cost > maxSuggestWork {
		return ""
	}
	s.spent += cost
	r := schema.Suggest(word, from.list[:k])
	if s.memo == nil {
		s.memo = map[suggestion]string{}
	}
	s.memo[key] = r
	return r
}

// maxListed is the most names a message lists.
const maxListed = 10

// listNames joins names for a message, at most maxListed of them.
func listNames(all []string) string {
	if len(all) <= maxListed {
		return strings.Join(all, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(all[:maxListed], ", "), len(all)-maxListed)
}
