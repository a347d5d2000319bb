package schema

import (
	"strings"
	"unicode/utf8"
)

// Suggest returns the candidate closest to word, for a "did you mean": the
// edit distance (insertions, deletions, substitutions and transpositions of
// adjacent letters), compared case-insensitively, must be at most a third of
// the length of word (so 2 edits from 6 letters on), and at least 1 edit is
// always allowed. Ties go to the earlier candidate. It returns "" when no
// candidate is close enough or word equals a candidate exactly.
func Suggest(word string, candidates []string) string {
	if word == "" {
		return ""
	}
	lw := strings.ToLower(word)
	n := utf8.RuneCountInString(lw)
	limit := n / 3
	if limit < 1 {
		limit = 1
	}
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if c == word {
			return ""
		}
		d := distance(lw, strings.ToLower(c), bestDist)
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// distance returns the optimal string alignment distance of a and b, or a
// value >= max when it is at least max.
func distance(a, b string, max int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d >= max || -d >= max {
		return max
	}
	// Three rows: two back (for transpositions), previous, current.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin >= max {
			return max
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(rb)], max)
}
