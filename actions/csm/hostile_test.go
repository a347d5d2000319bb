package csm_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/csmplan/csmplan/actions/csm"
	"github.com/csmplan/csmplan/internal/hostiletest"
)

// hostileCSM is a hostile server that hands out a token and answers
// GET /system/version with reply.
func hostileCSM(t *testing.T, reply hostiletest.Reply, timeout time.Duration) *csm.Client {
	t.Helper()
	s := hostiletest.NewTLSServer(t)
	s.Script("/CSM/web/system/v1/tokens", hostiletest.Reply{Body: `{"msg":"IWNR1601I","token":"t"}`})
	s.Script("/CSM/web/system/version", reply)
	c, err := csm.New(csm.Config{Host: strings.TrimPrefix(s.URL, "https://"), Username: "u", Password: "p", CAFile: s.CAFile, Timeout: timeout, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// These held under attack; they stay held.
func TestHostileServers(t *testing.T) {
	t.Parallel()
	t.Run("a reply over 32 MiB is refused", func(t *testing.T) {
		t.Parallel()
		c := hostileCSM(t, hostiletest.Reply{Body: `{"version":"`, Size: 33 << 20}, time.Minute)
		if _, err := c.Version(context.Background()); err == nil || !strings.Contains(err.Error(), "larger than 32 MiB") {
			t.Fatalf("err = %v, want the reply refused as too large", err)
		}
	})
	t.Run("deep JSON is an error, not a crash", func(t *testing.T) {
		t.Parallel()
		c := hostileCSM(t, hostiletest.Reply{Body: `{"version":` + strings.Repeat("[", 200000) + strings.Repeat("]", 200000) + `}`}, time.Minute)
		if _, err := c.Version(context.Background()); err == nil || !strings.Contains(err.Error(), "not the JSON expected") {
			t.Fatalf("err = %v, want a decoding error", err)
		}
	})
	t.Run("a slow drip is bounded by the request timeout", func(t *testing.T) {
		t.Parallel()
		never := make(chan struct{}) // the drip never goes on
		c := hostileCSM(t, hostiletest.Reply{Body: `{"version":"6.3`, Pieces: []string{`.10.1"}`}, Tick: never}, 2*time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a guard only
		defer cancel()
		if _, err := c.Token(ctx); err != nil {
			t.Fatal(err)
		}
		_, err := c.Version(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			t.Fatalf("err = %v, want the client's own request timeout", err)
		}
	})
}
