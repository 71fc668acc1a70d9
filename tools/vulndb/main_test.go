package main

import (
	"encoding/json"
	"testing"
)

func TestLatestFix(t *testing.T) {
	for _, c := range []struct{ ranges, want string }{
		{`[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.3"}]}]`, "1.2.3"},
		{`[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.3"},{"introduced":"1.4.0"},{"fixed":"1.4.2"}]}]`, "1.4.2"},
		{`[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.10.0"},{"fixed":"1.9.5"}]}]`, "1.10.0"},
		// Brought back after the last fix: nothing fixes it.
		{`[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.3"},{"introduced":"2.0.0"}]}]`, ""},
		{`[{"type":"SEMVER","events":[{"introduced":"0"}]}]`, ""},
		{`[{"type":"GIT","events":[{"fixed":"abc"}]}]`, ""},
	} {
		var rs []osvRange
		if err := json.Unmarshal([]byte(c.ranges), &rs); err != nil {
			t.Fatal(err)
		}
		if got := latestFix(rs); got != c.want {
			t.Errorf("%s: got %q, want %q", c.ranges, got, c.want)
		}
	}
}
