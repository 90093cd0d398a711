// Command benchtable turns the output of the scale benchmarks (go test
// -bench, read from standard input) into one Markdown table: per benchmark
// the ratio of the medians of its two (or more) sides and each side's
// minimum, median and maximum, as the benchmarks report them (metrics
// named "<side>-min-ns", "<side>-med-ns", "<side>-max-ns" or the same with
// "ops/s", and "<a>/<b>-med"). Other metrics are listed as they are.
// Lines that are not benchmark results are passed to standard error, so
// that the logs of a run stay visible.
//
//	make bench-scale    # runs the benchmarks and pipes them through benchtable
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var spreadRe = regexp.MustCompile(`^(.+)-(min|med|max)-(ns|ops/s)$`)

type row struct {
	name    string
	sides   []string
	spread  map[string]map[string]float64 // side -> min/med/max
	unit    map[string]string
	ratios  []string
	ratio   map[string]float64
	plain   []string
	plainOf map[string]float64
}

func main() {
	rows, err := parse(os.Stdin, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	write(os.Stdout, rows)
}

func parse(in io.Reader, logs io.Writer) ([]*row, error) {
	var out []*row
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			fmt.Fprintln(logs, line)
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			fmt.Fprintln(logs, line)
			continue
		}
		r := &row{name: f[0], spread: map[string]map[string]float64{}, unit: map[string]string{},
			ratio: map[string]float64{}, plainOf: map[string]float64{}}
		if i := strings.LastIndex(r.name, "-"); i > 0 {
			if _, err := strconv.Atoi(r.name[i+1:]); err == nil {
				r.name = r.name[:i] // the GOMAXPROCS suffix
			}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: value %q", f[0], f[i])
			}
			unit := f[i+1]
			switch m := spreadRe.FindStringSubmatch(unit); {
			case m != nil:
				if r.spread[m[1]] == nil {
					r.spread[m[1]] = map[string]float64{}
					r.sides = append(r.sides, m[1])
				}
				r.spread[m[1]][m[2]] = v
				r.unit[m[1]] = m[3]
			case strings.HasSuffix(unit, "-med") && strings.Contains(unit, "/") && !strings.HasSuffix(unit, "ops/s"):
				r.ratios = append(r.ratios, strings.TrimSuffix(unit, "-med"))
				r.ratio[strings.TrimSuffix(unit, "-med")] = v
			case unit == "ns/op" || strings.HasSuffix(unit, "-ns/op") || strings.Contains(unit, "/") && !strings.HasSuffix(unit, "/s"):
				// Means, and ratios of means: the medians are reported.
			default:
				r.plain = append(r.plain, unit)
				r.plainOf[unit] = v
			}
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

func human(v float64, unit string) string {
	if unit == "ops/s" {
		return strconv.FormatFloat(v, 'f', 0, 64) + "/s"
	}
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2f s", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.2f ms", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1f µs", v/1e3)
	}
	return fmt.Sprintf("%.0f ns", v)
}

func write(w io.Writer, rows []*row) {
	fmt.Fprintln(w, "| benchmark | ratio of medians | side: min / median / max | other metrics |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, r := range rows {
		var ratios, sides, plain []string
		for _, k := range r.ratios {
			ratios = append(ratios, fmt.Sprintf("%s %.3g", k, r.ratio[k]))
		}
		for _, s := range r.sides {
			m := r.spread[s]
			sides = append(sides, fmt.Sprintf("%s: %s / %s / %s", s, human(m["min"], r.unit[s]), human(m["med"], r.unit[s]), human(m["max"], r.unit[s])))
		}
		keys := slices.Clone(r.plain)
		for _, k := range keys {
			plain = append(plain, fmt.Sprintf("%s %.4g", k, r.plainOf[k]))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", strings.TrimPrefix(r.name, "Benchmark"), strings.Join(ratios, "; "),
			strings.Join(sides, "; "), strings.Join(plain, "; "))
	}
}
