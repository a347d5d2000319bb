package csm_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/csmplan/csmplan/actions/csm"
	"github.com/csmplan/csmplan/actions/csm/csmtest"
)

// A wrong password is tried at most MaxFailedLogins times per client (per
// server and credentials): then the client fails at once, without a
// request, so that the CSM account is not locked.
func TestFailedLoginsAreBounded(t *testing.T) {
	t.Parallel()
	pair, err := csmtest.NewPair(csmtest.Options{Standby: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pair.Close)
	for i, tc := range []struct {
		max, want int
		server    *csmtest.Server
	}{
		{0, csm.DefaultMaxFailedLogins, pair.Primary()},
		{-1, 6, pair.Secondary()},
	} {
		c, err := csm.New(csm.Config{Host: tc.server.Addr(), Username: pair.Username(), Password: "wrong", CAFile: pair.CAFile(), MaxFailedLogins: tc.max})
		if err != nil {
			t.Fatal(err)
		}
		for n := 1; n <= 6; n++ {
			_, err := c.HA(context.Background())
			if !errors.Is(err, csm.ErrAuth) {
				t.Fatalf("case %d, call %d: err = %v, want ErrAuth", i, n, err)
			}
			limited := errors.Is(err, csm.ErrLoginLimit)
			if limited != (n > tc.want) {
				t.Errorf("case %d, call %d: ErrLoginLimit %v, want %v: %v", i, n, limited, n > tc.want, err)
			}
			if limited && (!strings.Contains(err.Error(), "no more are tried, so that the CSM account is not locked") || !strings.Contains(err.Error(), "IWNR9001E")) {
				t.Errorf("the error does not say why, nor the last refusal: %v", err)
			}
			if strings.Contains(err.Error(), "wrong") {
				t.Errorf("the error shows the password: %v", err)
			}
		}
		if got := tc.server.Logins(); got != (csmtest.Logins{Attempts: tc.want, Failed: tc.want}) {
			t.Errorf("case %d: the server answered %+v logins, want %d refused", i, got, tc.want)
		}
		c.Close()
	}
	// The right password still logs in on a client of its own.
	c, err := csm.New(csm.Config{Host: pair.Primary().Addr(), Username: pair.Username(), Password: csmtest.DefaultPassword, CAFile: pair.CAFile()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.HA(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := pair.Primary().Logins(); got != (csmtest.Logins{Attempts: csm.DefaultMaxFailedLogins + 1, Failed: csm.DefaultMaxFailedLogins}) {
		t.Errorf("primary logins %+v", got)
	}
}
