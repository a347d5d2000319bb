package fleet

// Selected returns, by index in f.Units, which units the --limit
// selectors select (see Options.Limit): every unit when limit is empty.
// A selector that selects no unit is an error wrapping ErrLimit (and
// ErrUnknownUnit for a name that is no unit), the one Run gives. It is
// for the runners of a fleet other than Run (a Temporal workflow).
func (f *Fleet) Selected(limit []string) ([]bool, error) {
	return selectUnits(f, limit)
}
