package actions_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/csmplan/csmplan/actions"
)

// readCase is one call of a reader on args, with the value or the error
// message it must give.
type readCase struct {
	name    string
	read    func(args map[string]any) (any, error)
	args    map[string]any
	want    any
	wantErr string // the whole message; "" for no error
}

func runReadCases(t *testing.T, cases []readCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.read(c.args)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("error %v, want %s", err, show(c.want))
				}
				assertEqual(t, got, c.want)
				return
			}
			if err == nil {
				t.Fatalf("got %s, want error %q", show(got), c.wantErr)
			}
			if err.Error() != c.wantErr {
				t.Errorf("error %q\nwant  %q", err, c.wantErr)
			}
			if !actions.IsPermanent(err) {
				t.Errorf("error %q is not permanent", err)
			}
			ae, ok := errors.AsType[*actions.ArgError](err)
			if !ok {
				t.Fatalf("error %q is not an *ArgError", err)
			}
			if ae.Name != "x" {
				t.Errorf("ArgError.Name = %q, want x", ae.Name)
			}
		})
	}
}

// xArg returns arguments whose argument x is v.
func xArg(v any) map[string]any { return map[string]any{"x": v} }

// noX is arguments without x.
var noX = map[string]any{"other": "y"}

func TestStringReaders(t *testing.T) {
	t.Parallel()
	str := func(args map[string]any) (any, error) { return actions.StringArg(args, "x") }
	nonBlank := func(args map[string]any) (any, error) { return actions.NonBlankStringArg(args, "x") }
	opt := func(args map[string]any) (any, error) { return actions.OptStringArg(args, "x", "def") }
	call := func(args map[string]any) (any, error) { return (&actions.Call{Args: args}).String("x") }
	runReadCases(t, []readCase{
		{"string", str, xArg("a b"), "a b", ""},
		{"string empty", str, xArg(""), "", ""},
		{"string missing", str, noX, nil, `argument "x": is required`},
		{"string null", str, xArg(nil), nil, `argument "x": is required`},
		{"string nil map", str, nil, nil, `argument "x": is required`},
		{"string of int", str, xArg(3), nil, `argument "x": want a string, got an integer`},
		{"string of list", str, xArg([]any{"a"}), nil, `argument "x": want a string, got a list`},
		{"string of struct", str, xArg(struct{}{}), nil, `argument "x": want a string, got struct {}`},
		{"non-blank", nonBlank, xArg(" a "), " a ", ""},
		{"non-blank empty", nonBlank, xArg(""), nil, `argument "x": is empty`},
		{"non-blank spaces", nonBlank, xArg(" \t\n"), nil, `argument "x": is empty`},
		{"non-blank missing", nonBlank, noX, nil, `argument "x": is required`},
		{"non-blank of bool", nonBlank, xArg(true), nil, `argument "x": want a string, got a boolean`},
		{"opt", opt, xArg("a"), "a", ""},
		{"opt empty", opt, xArg(""), "", ""},
		{"opt missing", opt, noX, "def", ""},
		{"opt null", opt, xArg(nil), "def", ""},
		{"opt of number", opt, xArg(1.5), nil, `argument "x": want a string, got a number`},
		{"Call.String", call, xArg("a"), "a", ""},
		{"Call.String missing", call, noX, nil, `argument "x": is required`},
		{"Call.String of object", call, xArg(map[string]any{}), nil, `argument "x": want a string, got an object`},
	})
}

func TestIntArg(t *testing.T) {
	t.Parallel()
	read := func(args map[string]any) (any, error) { return actions.IntArg(args, "x") }
	var cases []readCase
	for _, v := range []any{3, int8(3), int16(3), int32(3), int64(3), uint(3), uint8(3), uint16(3), uint32(3), uint64(3), float32(3), 3.0, json.Number("3"), json.Number("3.0"), "3", " 3 ", "+3"} {
		cases = append(cases, readCase{fmt.Sprintf("%T %v", v, v), read, xArg(v), 3, ""})
	}
	cases = append(cases,
		readCase{"negative", read, xArg(-7), -7, ""},
		readCase{"2^53", read, xArg(float64(1 << 53)), 1 << 53, ""},
		readCase{"missing", read, noX, nil, `argument "x": is required`},
		readCase{"fraction", read, xArg(3.5), nil, `argument "x": want an integer, got a number`},
		readCase{"beyond 2^53", read, xArg(1e300), nil, `argument "x": want an integer, got a number`},
		readCase{"json fraction", read, xArg(json.Number("3.5")), nil, `argument "x": want an integer, got a number`},
		readCase{"word", read, xArg("three"), nil, `argument "x": want an integer, got a string`},
		readCase{"decimal string", read, xArg("3.0"), nil, `argument "x": want an integer, got a string`},
		readCase{"bool", read, xArg(true), nil, `argument "x": want an integer, got a boolean`},
	)
	runReadCases(t, cases)
}

func TestOptIntsArg(t *testing.T) {
	t.Parallel()
	read := func(args map[string]any) (any, error) { return actions.OptIntsArg(args, "x", []int{0}) }
	var cases []readCase
	for _, v := range []any{3, int8(3), int16(3), int32(3), int64(3), uint(3), uint8(3), uint16(3), uint32(3), uint64(3), float32(3), 3.0, json.Number("3")} {
		cases = append(cases, readCase{fmt.Sprintf("element %T", v), read, xArg([]any{v, 4}), []int{3, 4}, ""})
	}
	for _, v := range []any{3.5, "3", nil, true, 1e300} {
		cases = append(cases, readCase{fmt.Sprintf("element %#v", v), read, xArg([]any{1, v}), nil,
			fmt.Sprintf(`argument "x": element 1: want an integer, got %s`, map[any]string{3.5: "a number", "3": "a string", nil: "null", true: "a boolean", 1e300: "a number"}[v])})
	}
	cases = append(cases,
		readCase{"[]int", read, xArg([]int{200, 201}), []int{200, 201}, ""},
		readCase{"[]int64", read, xArg([]int64{5}), []int{5}, ""},
		readCase{"empty", read, xArg([]any{}), []int{}, ""},
		readCase{"missing", read, noX, []int{0}, ""},
		readCase{"null", read, xArg(nil), []int{0}, ""},
		readCase{"scalar", read, xArg(json.Number("0")), nil, `argument "x": want a list of integers, got a number`},
		readCase{"strings", read, xArg([]string{"1"}), nil, `argument "x": want a list of integers, got a list`},
	)
	runReadCases(t, cases)
}

func TestOptIntsArgCopies(t *testing.T) {
	t.Parallel()
	in := []int{1, 2}
	out, err := actions.OptIntsArg(xArg(in), "x", nil)
	if err != nil {
		t.Fatal(err)
	}
	out[0] = 9
	if in[0] != 1 {
		t.Errorf("OptIntsArg returned the argument's own slice: writing to it changed the argument to %v", in)
	}
}

func TestBoolReaders(t *testing.T) {
	t.Parallel()
	req := func(args map[string]any) (any, error) { return actions.BoolArg(args, "x") }
	opt := func(args map[string]any) (any, error) { return actions.OptBoolArg(args, "x", true) }
	runReadCases(t, []readCase{
		{"true", req, xArg(true), true, ""},
		{"false", req, xArg(false), false, ""},
		{"string true", req, xArg("true"), true, ""},
		{"string FALSE", req, xArg(" FALSE "), false, ""},
		{"string 1", req, xArg("1"), true, ""},
		{"missing", req, noX, nil, `argument "x": is required`},
		{"string yes", req, xArg("yes"), nil, `argument "x": want a boolean, got a string`},
		{"integer", req, xArg(1), nil, `argument "x": want a boolean, got an integer`},
		{"opt false", opt, xArg(false), false, ""},
		{"opt missing", opt, noX, true, ""},
		{"opt null", opt, xArg(nil), true, ""},
		{"opt list", opt, xArg([]any{}), nil, `argument "x": want a boolean, got a list`},
	})
}

func TestDurationReaders(t *testing.T) {
	t.Parallel()
	req := func(args map[string]any) (any, error) { return actions.DurationArg(args, "x") }
	opt := func(args map[string]any) (any, error) { return actions.OptDurationArg(args, "x", time.Minute) }
	runReadCases(t, []readCase{
		{"string", req, xArg("1h30m"), 90 * time.Minute, ""},
		{"spaces", req, xArg(" 30s "), 30 * time.Second, ""},
		{"zero", req, xArg("0s"), time.Duration(0), ""},
		{"Duration", req, xArg(2 * time.Second), 2 * time.Second, ""},
		{"missing", req, noX, nil, `argument "x": is required`},
		{"bad", req, xArg("soon"), nil, `argument "x": want a duration such as "30s" or "5m", got "soon"`},
		{"no unit", req, xArg("30"), nil, `argument "x": want a duration such as "30s" or "5m", got "30"`},
		{"number", req, xArg(30), nil, `argument "x": want a duration string such as "30s", got an integer`},
		{"negative", req, xArg("-1s"), nil, `argument "x": must not be negative, got -1s`},
		{"negative Duration", req, xArg(-time.Second), nil, `argument "x": must not be negative, got -1s`},
		{"opt", opt, xArg("5s"), 5 * time.Second, ""},
		{"opt missing", opt, noX, time.Minute, ""},
		{"opt null", opt, xArg(nil), time.Minute, ""},
		{"opt bad", opt, xArg(true), nil, `argument "x": want a duration string such as "30s", got a boolean`},
	})
}

func TestStringsArg(t *testing.T) {
	t.Parallel()
	read := func(args map[string]any) (any, error) { return actions.StringsArg(args, "x") }
	runReadCases(t, []readCase{
		{"[]any", read, xArg([]any{"ls", "-l"}), []string{"ls", "-l"}, ""},
		{"[]string", read, xArg([]string{"ls"}), []string{"ls"}, ""},
		{"empty", read, xArg([]any{}), []string(nil), ""},
		{"missing", read, noX, nil, `argument "x": is required`},
		{"string", read, xArg("ls -l"), nil, `argument "x": want a list of strings, got a string`},
		{"element", read, xArg([]any{"ls", 3}), nil, `argument "x": element 1: want a string, got an integer`},
		{"null element", read, xArg([]any{nil}), nil, `argument "x": element 0: want a string, got null`},
	})
}

func TestOptStringMapArg(t *testing.T) {
	t.Parallel()
	read := func(args map[string]any) (any, error) { return actions.OptStringMapArg(args, "x") }
	runReadCases(t, []readCase{
		{"map[string]any", read, xArg(map[string]any{"A": "1", "B": ""}), map[string]string{"A": "1", "B": ""}, ""},
		{"map[string]string", read, xArg(map[string]string{"A": "1"}), map[string]string{"A": "1"}, ""},
		{"empty", read, xArg(map[string]any{}), map[string]string{}, ""},
		{"missing", read, noX, map[string]string(nil), ""},
		{"null", read, xArg(nil), map[string]string(nil), ""},
		{"list", read, xArg([]any{"A"}), nil, `argument "x": want an object of strings, got a list`},
		// Of several bad values, the first key in sorted order is named.
		{"values", read, xArg(map[string]any{"C": 1, "B": true, "A": "ok"}), nil, `argument "x": key "B": want a string, got a boolean`},
	})
}

func TestOptStringMapArgCopies(t *testing.T) {
	t.Parallel()
	in := map[string]string{"A": "1"}
	out, err := actions.OptStringMapArg(xArg(in), "x")
	if err != nil {
		t.Fatal(err)
	}
	out["A"] = "2"
	if in["A"] != "1" {
		t.Errorf("OptStringMapArg returned the argument's own map: writing to it changed the argument to %v", in)
	}
}

func TestHasArg(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args map[string]any
		want bool
	}{
		{xArg(""), true},
		{xArg(false), true},
		{xArg(0), true},
		{xArg([]any{}), true},
		{xArg(nil), false},
		{noX, false},
		{nil, false},
	} {
		if got := actions.HasArg(c.args, "x"); got != c.want {
			t.Errorf("HasArg(%v, x) = %v, want %v", c.args, got, c.want)
		}
	}
}

func TestArgErrorf(t *testing.T) {
	t.Parallel()
	cause := errors.New("boom")
	err := actions.ArgErrorf("level", "cannot read: %w", cause)
	if got, want := err.Error(), `argument "level": cannot read: boom`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, cause) {
		t.Error("ArgErrorf with %w does not wrap its operand")
	}
	if !errors.Is(err, actions.ErrPermanent) || !actions.IsPermanent(fmt.Errorf("step a: %w", err)) {
		t.Error("an ArgError is not permanent")
	}
	ae, ok := errors.AsType[*actions.ArgError](fmt.Errorf("wrapped: %w", err))
	if !ok || ae.Name != "level" || ae.Err.Error() != "cannot read: boom" {
		t.Errorf("errors.AsType = %#v, %v; want the ArgError of level", ae, ok)
	}
	if errors.Is(errors.New("other"), actions.ErrPermanent) {
		t.Error("a plain error is permanent")
	}
}

func TestArgTypeError(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		got  any
		want string
	}{
		{nil, `argument "items": want a list of objects, got null`},
		{"s", `argument "items": want a list of objects, got a string`},
		{true, `argument "items": want a list of objects, got a boolean`},
		{uint16(1), `argument "items": want a list of objects, got an integer`},
		{float32(1), `argument "items": want a list of objects, got a number`},
		{json.Number("1"), `argument "items": want a list of objects, got a number`},
		{[]string{}, `argument "items": want a list of objects, got a list`},
		{map[string]string{}, `argument "items": want a list of objects, got an object`},
		{time.Second, `argument "items": want a list of objects, got time.Duration`},
	} {
		err := actions.ArgTypeError("items", "a list of objects", c.got)
		if err.Error() != c.want {
			t.Errorf("ArgTypeError(%#v) = %q, want %q", c.got, err, c.want)
		}
		if !actions.IsPermanent(err) {
			t.Errorf("ArgTypeError(%#v) is not permanent", c.got)
		}
	}
}

func TestContextError(t *testing.T) {
	t.Parallel()
	if err := actions.ContextError(context.Background()); err != nil {
		t.Errorf("ContextError of a live context = %v, want nil", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := actions.ContextError(ctx); err != context.Canceled {
		t.Errorf("ContextError of a cancelled context = %#v, want context.Canceled itself", err)
	}

	// What a virtual clock's WithTimeout does when its deadline passes.
	ctx, cancelCause := context.WithCancelCause(context.Background())
	cancelCause(context.DeadlineExceeded)
	err := actions.ContextError(ctx)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ContextError = %v, want both context.Canceled and context.DeadlineExceeded", err)
	}
	if got, want := err.Error(), "context deadline exceeded"; got != want {
		t.Errorf("ContextError message = %q, want %q", got, want)
	}

	ctx, cancel = context.WithTimeout(context.Background(), -time.Second)
	defer cancel()
	if err := actions.ContextError(ctx); err != context.DeadlineExceeded {
		t.Errorf("ContextError of an expired context = %#v, want context.DeadlineExceeded itself", err)
	}
}

// An action reads its arguments with the readers, and reports its own
// checks in the same shape with ArgErrorf.
func ExampleStringArg() {
	read := func(args map[string]any) error {
		url, err := actions.StringArg(args, "url")
		if err != nil {
			return err
		}
		timeout, err := actions.OptDurationArg(args, "timeout", 30*time.Second)
		if err != nil {
			return err
		}
		if timeout == 0 {
			return actions.ArgErrorf("timeout", "must be positive")
		}
		fmt.Println(url, timeout)
		return nil
	}
	fmt.Println(read(map[string]any{"url": "https://example.com"}))
	fmt.Println(read(map[string]any{"url": "https://example.com", "timeout": "0s"}))
	fmt.Println(read(map[string]any{"url": 443}))
	fmt.Println(read(map[string]any{}))
	// Output:
	// https://example.com 30s
	// <nil>
	// argument "timeout": must be positive
	// argument "url": want a string, got an integer
	// argument "url": is required
}
