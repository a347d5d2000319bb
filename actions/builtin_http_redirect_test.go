package actions_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/csmplan/csmplan/actions"
	"github.com/csmplan/csmplan/actions/actionstest"
	"github.com/csmplan/csmplan/internal/hostiletest"
)

// token is the secret the runbook of these tests sends in a header.
const token = "t0k3n-S3cr3t"

// plainURL is the URL of a plain HTTP server under the name localhost: the
// "other host" of a redirect.
func plainURL(s *hostiletest.Server) string {
	return strings.Replace(s.URL, "127.0.0.1", "localhost", 1)
}

// noSecretSent fails the test when s received any request, or (with
// allowed true) a request that holds the token or a header the runbook
// gave.
func noSecretSent(t *testing.T, name string, s *hostiletest.Server, allowed bool) {
	t.Helper()
	reqs := s.Requests()
	if !allowed && len(reqs) > 0 {
		t.Errorf("%s received %d request(s), want none: %+v", name, len(reqs), reqs)
	}
	for _, r := range reqs {
		for k, vs := range r.Header {
			for _, v := range vs {
				if strings.Contains(v, token) {
					t.Errorf("%s received the token in header %s: %q", name, k, v)
				}
			}
		}
		for _, k := range []string{"X-Auth-Token", "X-Plain", "Referer"} {
			if v := r.Header.Get(k); v != "" {
				t.Errorf("%s received header %s: %q", name, k, v)
			}
		}
		if strings.Contains(string(r.Body), token) || strings.Contains(r.URI, token) {
			t.Errorf("%s received the token in %s %s", name, r.URI, r.Body)
		}
	}
}

func TestHTTPRedirects(t *testing.T) {
	t.Parallel()
	type servers struct {
		a     *hostiletest.Server // the server the runbook names (HTTPS)
		plain *hostiletest.Server // another host, plain HTTP
		other *hostiletest.Server // another host, HTTPS
	}
	tests := []struct {
		name    string
		script  func(s servers)
		args    map[string]any
		wantErr []string // each in the error; none: success
		check   func(t *testing.T, s servers, out actions.Outputs)
	}{{
		name: "not followed by default",
		script: func(s servers) {
			s.a.Script("/start", hostiletest.Redirect(http.StatusFound, plainURL(s.plain)+"/stolen"))
		},
		wantErr: []string{"status 302 Found", "redirect to " + "PLAIN/stolen", "not followed", "follow_redirects is false"},
		check: func(t *testing.T, s servers, out actions.Outputs) {
			assertEqual(t, out["status"], int64(302))
			noSecretSent(t, "the other host", s.plain, false)
		},
	}, {
		name: "a redirect in ok_status is a success",
		script: func(s servers) {
			s.a.Script("/start", hostiletest.Redirect(http.StatusFound, plainURL(s.plain)+"/stolen"))
		},
		args: map[string]any{"ok_status": []any{302}},
		check: func(t *testing.T, s servers, out actions.Outputs) {
			assertEqual(t, out["headers"].(map[string]any)["Location"], plainURL(s.plain)+"/stolen")
			noSecretSent(t, "the other host", s.plain, false)
		},
	}, {
		name: "HTTPS never downgraded to HTTP",
		script: func(s servers) {
			s.a.Script("/start", hostiletest.Redirect(http.StatusFound, plainURL(s.plain)+"/stolen"))
		},
		args:    map[string]any{"follow_redirects": true},
		wantErr: []string{"status 302 Found", "redirect to PLAIN/stolen", "refused", "https:// to http://"},
		check: func(t *testing.T, s servers, _ actions.Outputs) {
			noSecretSent(t, "the other host", s.plain, false)
		},
	}, {
		name: "HTTPS never downgraded, even on the same host",
		script: func(s servers) {
			s.a.Script("/start", hostiletest.Redirect(http.StatusMovedPermanently, strings.Replace(s.a.URL, "https:", "http:", 1)+"/x"))
		},
		args:    map[string]any{"follow_redirects": true},
		wantErr: []string{"status 301 Moved Permanently", "https:// to http://"},
		check: func(t *testing.T, s servers, _ actions.Outputs) {
			if n := len(s.a.Requests()); n != 1 {
				t.Errorf("the server got %d requests, want 1", n)
			}
		},
	}, {
		name: "another host: followed without any header",
		script: func(s servers) {
			s.a.Script("/start", hostiletest.Redirect(http.StatusFound, s.other.URL+"/landing"))
			s.other.Script("/landing", hostiletest.Reply{Body: "landed"})
		},
		args: map[string]any{"follow_redirects": true, "url": "A/start?token=" + token},
		check: func(t *testing.T, s servers, out actions.Outputs) {
			assertEqual(t, out["body"], "landed")
			if got := s.a.Requests()[0].Header.Get("X-Auth-Token"); got != token {
				t.Errorf("the first request carried X-Auth-Token %q, want the token", got)
			}
			noSecretSent(t, "the other host", s.other, true)
			if n := len(s.other.Requests()); n != 1 {
				t.Errorf("the other host got %d requests, want 1", n)
			}
		},
	}, {
		name: "same host: followed without the runbook's headers",
		script: func(s servers) {
			s.a.Script("/start", hostiletest.Redirect(http.StatusSeeOther, "/landing"))
			s.a.Script("/landing", hostiletest.Reply{Body: "landed"})
		},
		args: map[string]any{"follow_redirects": true, "url": "A/start?token=" + token},
		check: func(t *testing.T, s servers, out actions.Outputs) {
			assertEqual(t, out["body"], "landed")
			reqs := s.a.Requests()
			if len(reqs) != 2 || reqs[1].URI != "/landing" {
				t.Fatalf("requests %+v, want /start then /landing", reqs)
			}
			for _, k := range []string{"X-Auth-Token", "X-Plain", "Referer"} {
				if v := reqs[1].Header.Get(k); v != "" {
					t.Errorf("the redirected request carried %s: %q", k, v)
				}
			}
		},
	}, {
		name: "a body is never sent to another host",
		script: func(s servers) {
			s.a.Script("/start", hostiletest.Redirect(http.StatusTemporaryRedirect, s.other.URL+"/landing"))
		},
		args:    map[string]any{"follow_redirects": true, "method": "POST", "json": map[string]any{"password": token}},
		wantErr: []string{"status 307 Temporary Redirect", "redirect to OTHER/landing", "refused", "request body to another host"},
		check: func(t *testing.T, s servers, _ actions.Outputs) {
			noSecretSent(t, "the other host", s.other, false)
		},
	}, {
		name: "a body is sent again on the same host",
		script: func(s servers) {
			s.a.Script("/start", hostiletest.Redirect(http.StatusPermanentRedirect, "/landing"))
			s.a.Script("/landing", hostiletest.Reply{Status: http.StatusCreated})
		},
		args: map[string]any{"follow_redirects": true, "method": "POST", "json": map[string]any{"n": 1}},
		check: func(t *testing.T, s servers, out actions.Outputs) {
			assertEqual(t, out["status"], int64(201))
			reqs := s.a.Requests()
			if len(reqs) != 2 || reqs[1].Method != "POST" || string(reqs[1].Body) != `{"n":1}` || reqs[1].Header.Get("Content-Type") != "application/json" {
				t.Errorf("requests %+v, want the POST with its JSON body again at /landing", reqs)
			}
		},
	}, {
		name: "a redirect loop stops",
		script: func(s servers) {
			s.a.Script("/start", hostiletest.Redirect(http.StatusFound, "/start"))
		},
		args:    map[string]any{"follow_redirects": true},
		wantErr: []string{"status 302 Found", "redirect to A/start", "refused", "more than 10 redirects"},
		check: func(t *testing.T, s servers, _ actions.Outputs) {
			if n := len(s.a.Requests()); n != 11 {
				t.Errorf("%d requests, want 11: the first and 10 redirects", n)
			}
		},
	}, {
		name: "the Location shown hides its query and credentials",
		script: func(s servers) {
			s.a.Script("/start", hostiletest.Redirect(http.StatusFound, strings.Replace(s.other.URL, "https://", "https://u:"+token+"@", 1)+"/x?token="+token))
		},
		wantErr: []string{"redirect to OTHER/x?... not followed"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := servers{a: hostiletest.NewTLSServer(t), plain: hostiletest.NewServer(t), other: hostiletest.NewTLSServer(t)}
			tt.script(s)
			fill := strings.NewReplacer("A/", s.a.URL+"/", "PLAIN/", plainURL(s.plain)+"/", "OTHER/", s.other.URL+"/")
			args := map[string]any{
				"url":     s.a.URL + "/start",
				"ca_file": s.a.CAFile,
				"headers": map[string]any{"X-Auth-Token": token, "X-Plain": "not secret"},
			}
			for k, v := range tt.args {
				if str, ok := v.(string); ok {
					v = fill.Replace(str)
				}
				args[k] = v
			}
			out, err := runAction(t, "http", args)
			if len(tt.wantErr) == 0 && err != nil {
				t.Fatalf("Run: %v", err)
			}
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Run succeeded, want an error with %q", tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if w = fill.Replace(w); !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				var re *actions.RedirectError
				if !errors.As(err, &re) || !actions.IsPermanent(err) {
					t.Errorf("error %v: want a permanent *actions.RedirectError", err)
				}
				if strings.Contains(err.Error(), token) {
					t.Errorf("error %q shows the token", err)
				}
			}
			if tt.check != nil {
				tt.check(t, s, out)
			}
		})
	}
}

func TestHTTPProbeRedirects(t *testing.T) {
	t.Parallel()
	a, plain := hostiletest.NewTLSServer(t), hostiletest.NewServer(t)
	a.Script("/start", hostiletest.Redirect(http.StatusFound, plainURL(plain)+"/stolen"))
	args := map[string]any{"url": a.URL + "/start", "ca_file": a.CAFile, "headers": map[string]any{"X-Auth-Token": token}}

	v, err := observe(t, "http", args)
	if err != nil {
		t.Fatalf("Observe: %v; a redirect not followed is observed", err)
	}
	obs := v.(map[string]any)
	assertEqual(t, obs["status"], int64(302))
	assertEqual(t, obs["headers"].(map[string]any)["Location"], plainURL(plain)+"/stolen")

	args["follow_redirects"] = true
	_, err = observe(t, "http", args)
	var re *actions.RedirectError
	if !errors.As(err, &re) || re.Status != 302 || !strings.Contains(err.Error(), "https:// to http://") {
		t.Errorf("Observe following redirects = %v, want the downgrade refused", err)
	}
	noSecretSent(t, "the other host", plain, false)
}

func TestHTTPFollowRedirectsArgument(t *testing.T) {
	t.Parallel()
	for _, kind := range []actions.Kind{actions.KindAction, actions.KindProbe} {
		spec, ok := builtins(t).Spec(kind, "http")
		if !ok {
			t.Fatalf("no http %s", kind)
		}
		var schema struct {
			Properties map[string]struct {
				Type        string `json:"type"`
				Default     any    `json:"default"`
				Description string `json:"description"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(spec.Args, &schema); err != nil {
			t.Fatal(err)
		}
		p, ok := schema.Properties["follow_redirects"]
		if !ok || p.Type != "boolean" || p.Default != false || !strings.Contains(p.Description, "https:// to http://") {
			t.Errorf("http %s: follow_redirects = %+v, want a boolean, default false, described", kind, p)
		}
	}
	_, err := runAction(t, "http", map[string]any{"url": "https://127.0.0.1:1", "follow_redirects": "yes"})
	if err == nil || !strings.Contains(err.Error(), `argument "follow_redirects"`) {
		t.Errorf("follow_redirects: yes = %v, want an argument error", err)
	}
}

func TestHTTPErrorEscapesServerText(t *testing.T) {
	t.Parallel()
	s := hostiletest.NewTLSServer(t)
	s.Script("/spoof", hostiletest.Reply{Status: http.StatusInternalServerError, Body: hostiletest.TerminalSpoof + "\u202e evil"})
	out, err := runAction(t, "http", map[string]any{"url": s.URL + "/spoof", "ca_file": s.CAFile})
	if err == nil {
		t.Fatal("a 500 succeeded")
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\x1b\u202e") || !strings.Contains(msg, `\x1b[2J\x1b[31m FAKE: upgrade complete\u202e evil`) {
		t.Errorf("error %q: want the server's escape sequences escaped", msg)
	}
	// The output is data, kept as the server sent it.
	assertEqual(t, out["body"], hostiletest.TerminalSpoof+"\u202e evil")
}

func TestHTTPOversizedBodyIsCapped(t *testing.T) {
	t.Parallel()
	s := hostiletest.NewTLSServer(t)
	s.Script("/huge", hostiletest.Reply{Header: http.Header{"Content-Type": {"application/json"}}, Body: "[", Size: 3 << 20})
	out, err := runAction(t, "http", map[string]any{"url": s.URL + "/huge", "ca_file": s.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	body := out["body"].(string)
	if want := "\n[truncated 2097152 bytes]"; len(body) != 1<<20+len(want) || !strings.HasSuffix(body, want) {
		t.Errorf("body of %d bytes ending %q, want 1 MiB and %q", len(body), body[max(0, len(body)-30):], want)
	}
	assertEqual(t, out["json"], nil)
}

func TestHTTPTimeoutWhileTheBodyDrips(t *testing.T) {
	t.Parallel()
	s := hostiletest.NewTLSServer(t)
	s.Script("/drip", hostiletest.Reply{Body: "first bytes", Pieces: []string{"never sent"}, Tick: make(chan struct{})})
	clock := actionstest.NewClock(actionstest.Epoch)
	call := newCall("http", map[string]any{"url": s.URL + "/drip", "ca_file": s.CAFile, "timeout": "10s"})
	call.Clock = clock
	a, _ := builtins(t).NewAction("http")
	errc := make(chan error, 1)
	go func() {
		_, err := a.Run(context.Background(), call)
		errc <- err
	}()
	<-s.Arrived()
	clock.Advance(10 * time.Second)
	if err := <-errc; !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no response within 10s") {
		t.Fatalf("Run = %v, want a timeout after 10s while the body drips", err)
	}
}
