package backendtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
)

// CheckRedacted prints value through every path a program may print it by
// (fmt's %v, %+v, %#v, %s and %q, of the value and of a pointer to it;
// json.Marshal; slog's JSON and text handlers, as an attribute and as a
// group) and fails t when any output holds one of the secrets (passwords,
// hashes, bind passwords, tokens). A backend's tests call it for every
// exported configuration and user type, filled with secrets.
func CheckRedacted(t testing.TB, value any, secrets ...string) {
	t.Helper()
	outs := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		outs[verb] = fmt.Sprintf(verb, value)
		outs["pointer "+verb] = fmt.Sprintf(verb, &value)
	}
	outs["Sprint"] = fmt.Sprint(value)
	outs["Sprintln"] = fmt.Sprintln(value)
	if b, err := json.Marshal(value); err == nil {
		outs["json"] = string(b)
	} else {
		outs["json error"] = err.Error()
	}
	if b, err := json.MarshalIndent([]any{value}, "", " "); err == nil {
		outs["json in a slice"] = string(b)
	}
	for name, newHandler := range map[string]func(*bytes.Buffer) slog.Handler{
		"slog json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		"slog text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		var buf bytes.Buffer
		l := slog.New(newHandler(&buf))
		l.Info("value", "v", value)
		l.Info("group", slog.Group("g", "v", value))
		l.Info("pointer", "v", &value)
		outs[name] = buf.String()
	}
	for path, out := range outs {
		for _, secret := range secrets {
			if secret == "" {
				continue
			}
			if bytes.Contains([]byte(out), []byte(secret)) {
				t.Errorf("printing %T through %s shows the secret %.4q...: %.300s", value, path, secret, out)
			}
		}
	}
}
