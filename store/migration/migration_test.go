package migration

import (
	"testing"
	"testing/fstest"
)

func TestLoadAndPending(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0002_more.sql": {Data: []byte("B")},
		"m/0001_init.sql": {Data: []byte("A")},
		"m/0010_late.sql": {Data: []byte("C")},
	}
	ms, err := Load(fsys, "m")
	if err != nil || len(ms) != 3 || ms[0].Version != 1 || ms[1].SQL != "B" || ms[2].Name != "0010_late.sql" {
		t.Fatalf("%+v %v", ms, err)
	}
	p, err := Pending(ms, 1)
	if err != nil || len(p) != 2 || p[0].Version != 2 {
		t.Fatalf("pending after 1: %+v %v", p, err)
	}
	if p, _ := Pending(ms, 10); len(p) != 0 {
		t.Fatalf("pending at latest: %+v", p)
	}
	if _, err := Pending(ms, 11); err == nil {
		t.Fatal("a newer database was accepted")
	}
	for name, bad := range map[string]fstest.MapFS{
		"bad name":  {"m/init.sql": {}},
		"duplicate": {"m/0001_a.sql": {}, "m/0001_b.sql": {}},
		"upper":     {"m/0001_Init.sql": {}},
	} {
		if _, err := Load(bad, "m"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Load(fstest.MapFS{}, "missing"); err == nil {
		t.Error("a missing directory was accepted")
	}
}
