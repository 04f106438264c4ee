package normalize

import "testing"

// BenchmarkTime parses the shapes portals write most: bare dates,
// RFC 3339 timestamps, ISO timestamps without a zone, French dates.
func BenchmarkTime(b *testing.B) {
	for _, s := range []string{"2021-03-12", "2021-03-12T10:00:00.123456+01:00", "2021-03-12T10:00:00", "12/03/2021"} {
		b.Run(s, func(b *testing.B) {
			for b.Loop() {
				if _, ok := Time(s); !ok {
					b.Fatal(s)
				}
			}
		})
	}
}
