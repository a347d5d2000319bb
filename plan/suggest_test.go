package plan

import (
	"fmt"
	"testing"
)

func TestSuggesterPrefersTheFirstDefined(t *testing.T) {
	t.Parallel()
	var n names
	for _, name := range []string{"hostb", "hosta", "port"} {
		n.add(name)
	}
	var s suggester
	if got := s.suggest("hostc", &n, 3); got != "hostb" {
		t.Errorf("suggest(hostc) = %q, want the first defined of the two as close, hostb", got)
	}
	if got := s.suggest("hostc", &n, 0); got != "" {
		t.Errorf("suggest among no names = %q", got)
	}
}

// Suggestions stop once the load's budget is spent; a word already
// answered costs nothing again.
func TestSuggesterBudget(t *testing.T) {
	t.Parallel()
	var n names
	for i := 0; i < 1000; i++ {
		n.add(fmt.Sprintf("param%d", i))
	}
	var s suggester
	if got := s.suggest("parma1", &n, 1000); got != "param1" {
		t.Fatalf("suggest(parma1) = %q", got)
	}
	one := s.spent
	if want := len("parma1")*n.size[1000] + 16*1000; one != want {
		t.Errorf("spent %d, want %d", one, want)
	}
	s.suggest("parma1", &n, 1000)
	if s.spent != one {
		t.Errorf("a remembered suggestion cost %d more", s.spent-one)
	}
	s.spent = maxSuggestWork - one + 1
	if got := s.suggest("parma2", &n, 1000); got != "" || s.spent != maxSuggestWork-one+1 {
		t.Errorf("beyond the budget: suggest = %q, spent %d", got, s.spent)
	}
	long := fmt.Sprintf("%0*d", maxSuggestLen+1, 1)
	if got := s.suggest(long, &n, 1000); got != "" {
		t.Errorf("a name of %d bytes got a suggestion %q", len(long), got)
	}
}

func TestListNames(t *testing.T) {
	t.Parallel()
	var all []string
	for i := 0; i < 12; i++ {
		all = append(all, fmt.Sprintf("t%02d", i))
	}
	if got, want := listNames(all), "t00, t01, t02, t03, t04, t05, t06, t07, t08, t09 and 2 more"; got != want {
		t.Errorf("listNames = %q, want %q", got, want)
	}
	if got := listNames(all[:2]); got != "t00, t01" {
		t.Errorf("listNames = %q", got)
	}
}
