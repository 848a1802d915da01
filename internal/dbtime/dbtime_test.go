package dbtime

import (
	"testing"
	"time"
)

func TestValueIsFixedWidthUTC(t *testing.T) {
	loc := time.FixedZone("X", 3*3600)
	cases := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 1, 2, 6, 4, 5, 0, loc), "2026-01-02 03:04:05.000000"},
		{time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC), "2026-01-02 03:04:05.123456"},
		{time.Date(999, 12, 31, 23, 59, 59, 1000, time.UTC), "0999-12-31 23:59:59.000001"},
	}
	for _, c := range cases {
		v, err := From(c.in).Value()
		if err != nil {
			t.Fatal(err)
		}
		if v != c.want || len(v.(string)) != len(Layout) {
			t.Errorf("Value(%v) = %q, want %q", c.in, v, c.want)
		}
	}
}

func TestScanForms(t *testing.T) {
	want := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	for _, src := range []any{
		"2026-01-02 03:04:05.123456",
		[]byte("2026-01-02 03:04:05.123456"),
		"2026-01-02T03:04:05.123456Z",
		"2026-01-02 03:04:05.123456+00:00",
		want.In(time.FixedZone("Y", -5*3600)),
	} {
		var got Time
		if err := got.Scan(src); err != nil {
			t.Fatalf("Scan(%v): %v", src, err)
		}
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("Scan(%v) = %v, want %v UTC", src, got.Time, want)
		}
	}
	var bad Time
	if err := bad.Scan("yesterday"); err == nil {
		t.Error("Scan(yesterday) succeeded")
	}
	if err := bad.Scan(nil); err == nil {
		t.Error("Scan(nil) into Time succeeded")
	}
}

func TestNullTime(t *testing.T) {
	var n NullTime
	if err := n.Scan(nil); err != nil || n.Valid {
		t.Fatalf("Scan(nil) = %v, valid %v", err, n.Valid)
	}
	if v, _ := n.Value(); v != nil {
		t.Fatalf("Value of NULL = %v", v)
	}
	if err := n.Scan("2026-01-02 03:04:05.000001"); err != nil || !n.Valid {
		t.Fatalf("Scan = %v, valid %v", err, n.Valid)
	}
	if v, _ := n.Value(); v != "2026-01-02 03:04:05.000001" {
		t.Fatalf("round trip = %v", v)
	}
}
