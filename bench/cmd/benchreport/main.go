// Command benchreport turns Go benchmark output into the charts and tables of
// BENCHMARKS.md: for every benchmark family and every reported unit of interest, an SVG bar
// chart of the median per sub-benchmark, and one Markdown file of tables (medians with
// their spread, and the ratios the project's targets are stated in).
//
//	go run ./cmd/benchreport -out results results/*.txt
//
// It reads the standard format `go test -bench` writes (and benchstat reads): "pkg:"
// lines name the package of the benchmark lines that follow, and each benchmark line is a
// name, an iteration count and value-unit pairs. Runs of the same benchmark (-count) are
// summarised by their median, and the spread shown is the smallest and largest run.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/otelkinesis/otelkinesis/internal/plural"
)

func main() {
	out := flag.String("out", "results", "directory for the SVG charts and tables.md")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: benchreport [-out dir] bench-output.txt...")
		os.Exit(2)
	}
	set := newResults()
	for _, name := range flag.Args() {
		f, err := os.Open(name)
		if err != nil {
			fatal(err)
		}
		err = set.read(f)
		f.Close()
		if err != nil {
			fatal(fmt.Errorf("%s: %w", name, err))
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fatal(err)
	}
	charts, err := set.writeCharts(*out)
	if err != nil {
		fatal(err)
	}
	tables, err := os.Create(filepath.Join(*out, "tables.md"))
	if err != nil {
		fatal(err)
	}
	set.writeTables(tables, charts)
	if err := tables.Close(); err != nil {
		fatal(err)
	}
	fmt.Printf("benchreport: %s and tables.md in %s\n", plural.Count(len(charts), "chart"), *out)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "benchreport:", err)
	os.Exit(1)
}

// results holds every value read, by family (package and top-level benchmark), then
// sub-benchmark, then unit, in the order first seen.
type results struct {
	families []*family
	byName   map[string]*family
}

type family struct {
	name  string // "bench.BenchmarkSpanExport"
	subs  []*sub
	bySub map[string]*sub
	units []string
}

type sub struct {
	name   string // "exporter=otelkinesis/encoding=otlp_proto/compression=none"
	values map[string][]float64
}

func newResults() *results { return &results{byName: map[string]*family{}} }

var procSuffix = regexp.MustCompile(`-\d+$`)

// read adds the benchmark lines of r.
func (s *results) read(r io.Reader) error {
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = path.Base(strings.TrimSpace(p))
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 4 || len(fields)%2 != 0 {
			continue // a benchmark that failed, or a name printed without results
		}
		if _, err := strconv.Atoi(fields[1]); err != nil {
			continue
		}
		name := procSuffix.ReplaceAllString(fields[0], "")
		top, rest, _ := strings.Cut(name, "/")
		fam := s.family(pkg + "." + top)
		sb := fam.sub(rest)
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return fmt.Errorf("%q: %w", line, err)
			}
			unit := fields[i+1]
			if !slices.Contains(fam.units, unit) {
				fam.units = append(fam.units, unit)
			}
			sb.values[unit] = append(sb.values[unit], v)
		}
	}
	return sc.Err()
}

func (s *results) family(name string) *family {
	if f, ok := s.byName[name]; ok {
		return f
	}
	f := &family{name: name, bySub: map[string]*sub{}}
	s.byName[name] = f
	s.families = append(s.families, f)
	return f
}

func (f *family) sub(name string) *sub {
	if b, ok := f.bySub[name]; ok {
		return b
	}
	b := &sub{name: name, values: map[string][]float64{}}
	f.bySub[name] = b
	f.subs = append(f.subs, b)
	return b
}

// median returns the median of vs and whether there are any.
func median(vs []float64) (float64, bool) {
	if len(vs) == 0 {
		return 0, false
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2], true
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2, true
}

// splitUnit is the unit of a family that splits its CPU time into classes
// (BenchmarkPerByteShare): its perbyte-<class>-ns/span and other-<class>-ns/span units,
// and their sums perbyte-ns/span and other-ns/span, get one chart per sub-benchmark, the
// split, instead of one chart each.
const splitUnit = "other-per-perbyte"

// splitGroups are the groups of a split, in the order charted.
var splitGroups = []string{"perbyte", "other"}

// isSplit reports whether the family reports a CPU split.
func (f *family) isSplit() bool { return slices.Contains(f.units, splitUnit) }

// splitClass reports whether unit is one class of a split family's CPU time, or the sum
// of a group of them.
func splitClass(unit string) bool {
	for _, g := range splitGroups {
		if strings.HasPrefix(unit, g+"-") && strings.HasSuffix(unit, "-ns/span") {
			return true
		}
	}
	return false
}

// charted reports whether a unit gets a chart of its own: per-item costs, sizes, rates
// and percentages; not the per-op figures that the per-span ones replace, nor a split's
// classes (see splitUnit), nor a unit that is zero everywhere.
func (f *family) charted(unit string) bool {
	switch unit {
	case "ns/op", "B/op", "allocs/op", "sec/op":
		return false
	}
	if f.isSplit() && splitClass(unit) {
		return false
	}
	for _, b := range f.subs {
		if m, ok := median(b.values[unit]); ok && m != 0 {
			return true
		}
	}
	return false
}

// label shortens a sub-benchmark name for a chart: the values of its key=value parts.
func label(name string) string {
	if name == "" {
		return "(all)"
	}
	parts := strings.Split(name, "/")
	for i, p := range parts {
		if _, v, ok := strings.Cut(p, "="); ok {
			parts[i] = v
		}
	}
	return strings.Join(parts, " ")
}

var unsafeFile = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// writeCharts writes one SVG per family and charted unit and returns their file names.
func (s *results) writeCharts(dir string) ([]string, error) {
	var names []string
	for _, f := range s.families {
		for _, unit := range f.units {
			if !f.charted(unit) {
				continue
			}
			name := unsafeFile.ReplaceAllString(strings.TrimPrefix(f.name, "bench.")+"_"+unit, "_") + ".svg"
			var bars []bar
			for _, b := range f.subs {
				bars = appendBar(bars, label(b.name), b.values[unit])
			}
			svg := barChart(fmt.Sprintf("%s: %s (median of %s; whiskers: min to max)", f.name, unit, plural.Count(runs(f, unit), "run")), unit, bars)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(svg), 0o644); err != nil {
				return nil, err
			}
			names = append(names, name)
		}
		if f.isSplit() {
			split, err := f.writeSplitCharts(dir)
			if err != nil {
				return nil, err
			}
			names = append(names, split...)
		}
	}
	return names, nil
}

// writeSplitCharts writes, for each sub-benchmark of a split family, one chart of where
// its CPU time goes: per group (splitGroups), a bar per class, then the group's sum.
func (f *family) writeSplitCharts(dir string) ([]string, error) {
	var names []string
	for _, b := range f.subs {
		var bars []bar
		add := func(unit, lbl string) { bars = appendBar(bars, lbl, b.values[unit]) }
		for _, g := range splitGroups {
			for _, unit := range f.units {
				if class, ok := strings.CutPrefix(unit, g+"-"); ok && unit != g+"-ns/span" && splitClass(unit) {
					add(unit, g+": "+strings.TrimSuffix(class, "-ns/span"))
				}
			}
			add(g+"-ns/span", g+", in all")
		}
		if len(bars) == 0 {
			continue
		}
		name := unsafeFile.ReplaceAllString(strings.TrimPrefix(f.name, "bench.")+"_"+label(b.name)+"_split", "_") + ".svg"
		title := fmt.Sprintf("%s %s: CPU ns/span by class (median of %s; whiskers: min to max)", f.name, label(b.name), plural.Count(len(b.values[splitUnit]), "run"))
		if err := os.WriteFile(filepath.Join(dir, name), []byte(barChart(title, "cpu-ns/span", bars)), 0o644); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, nil
}

func runs(f *family, unit string) int {
	n := 0
	for _, b := range f.subs {
		n = max(n, len(b.values[unit]))
	}
	return n
}

type bar struct {
	label         string
	value, lo, hi float64
}

// appendBar appends the bar of a unit's runs vs: their median, with a whisker from the
// smallest to the largest; none if there are no runs.
func appendBar(bars []bar, label string, vs []float64) []bar {
	m, ok := median(vs)
	if !ok {
		return bars
	}
	return append(bars, bar{label: label, value: m, lo: slices.Min(vs), hi: slices.Max(vs)})
}

// barChart draws horizontal bars, one per sub-benchmark, with the value written at the end
// of each and a whisker from the smallest to the largest run.
func barChart(title, unit string, bars []bar) string {
	const (
		labelW = 330
		plotW  = 420
		rowH   = 22
		top    = 40
	)
	maxV := 0.0
	for _, b := range bars {
		maxV = max(maxV, b.hi, b.value)
	}
	if maxV <= 0 {
		maxV = 1
	}
	width, height := labelW+plotW+110, top+rowH*len(bars)+30
	var w strings.Builder
	fmt.Fprintf(&w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&w, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&w, `<text x="8" y="20" font-size="14" font-weight="bold">%s</text>`+"\n", html.EscapeString(title))
	for i, b := range bars {
		y := top + i*rowH
		bw := plotW * b.value / maxV
		color := "#7f8c8d"
		if strings.HasPrefix(b.label, "otelkinesis") {
			color = "#2e86c1"
		}
		fmt.Fprintf(&w, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelW-6, y+15, html.EscapeString(b.label))
		fmt.Fprintf(&w, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", labelW, y+3, bw, rowH-6, color)
		if b.hi > b.lo {
			x1, x2 := labelW+plotW*b.lo/maxV, labelW+plotW*b.hi/maxV
			fmt.Fprintf(&w, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black"/>`+"\n", x1, y+rowH/2, x2, y+rowH/2)
		}
		fmt.Fprintf(&w, `<text x="%.1f" y="%d">%s</text>`+"\n", float64(labelW)+max(bw, plotW*b.hi/maxV)+6, y+15, html.EscapeString(format(b.value)))
	}
	fmt.Fprintf(&w, `<text x="%d" y="%d" fill="#555">%s</text>`+"\n", labelW, height-8, html.EscapeString(unit))
	w.WriteString("</svg>\n")
	return w.String()
}

// format writes a value with three significant digits.
func format(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

// writeTables writes a Markdown table of medians per family, the ratios of the targets
// where their benchmarks are present, and links to the charts.
func (s *results) writeTables(w io.Writer, charts []string) {
	fmt.Fprintln(w, "<!-- written by bench/cmd/benchreport from the benchmark output; do not edit -->")
	for _, f := range s.families {
		var units []string
		for _, u := range f.units {
			if u != "ns/op" && u != "sec/op" {
				units = append(units, u)
			}
		}
		fmt.Fprintf(w, "\n### %s\n\n| benchmark | %s |\n|---|%s\n", f.name, strings.Join(units, " | "), strings.Repeat("---:|", len(units)))
		for _, b := range f.subs {
			row := []string{"`" + b.name + "`"}
			for _, u := range units {
				m, ok := median(b.values[u])
				if !ok {
					row = append(row, "")
					continue
				}
				row = append(row, format(m))
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
		}
	}
	for _, name := range []string{"BenchmarkSpanExport", "BenchmarkSpanExportByShard", "BenchmarkSpanExportAggregateSize"} {
		if f := s.byName["bench."+name]; f != nil {
			writeSpanRatios(w, name, f)
		}
	}
	if len(charts) > 0 {
		fmt.Fprintln(w, "\n### Charts")
		for _, c := range charts {
			fmt.Fprintf(w, "\n![%s](%s)\n", strings.TrimSuffix(c, ".svg"), c)
		}
	}
}

// writeSpanRatios writes, for the span export family f (named name), ours over each peer,
// per unit, at matching encoding and compression where the peer has it. Our
// sub-benchmarks may name a variant between the exporter and the encoding
// (partition=..., aggregate=...); the peers' do not.
func writeSpanRatios(w io.Writer, name string, f *family) {
	get := func(name, unit string) (float64, bool) {
		b := f.bySub[name]
		if b == nil {
			return 0, false
		}
		return median(b.values[unit])
	}
	fmt.Fprintf(w, "\n### %s: ours over each peer (medians; below 1 means ours is smaller)\n", name)
	fmt.Fprintln(w, "\n| ours | peer | cpu-ns/span | allocs/span | wire-B/span | record-B/span | put-units/10k-spans |\n|---|---|---:|---:|---:|---:|---:|")
	for _, b := range f.subs {
		if !strings.HasPrefix(b.name, "exporter=otelkinesis/") {
			continue
		}
		rest := strings.TrimPrefix(b.name, "exporter=otelkinesis/")
		tail := rest
		if i := strings.Index(rest, "encoding="); i >= 0 {
			tail = rest[i:]
		}
		for _, peer := range []string{"otlptracehttp", "awskinesis"} {
			pname := "exporter=" + peer + "/" + tail
			if f.bySub[pname] == nil {
				continue
			}
			row := []string{"`" + label(rest) + "`", peer}
			for _, u := range []string{"cpu-ns/span", "allocs/span", "wire-B/span", "record-B/span", "put-units/10k-spans"} {
				a, ok1 := get(b.name, u)
				p, ok2 := get(pname, u)
				if !ok1 || !ok2 || p == 0 {
					row = append(row, "")
					continue
				}
				row = append(row, strconv.FormatFloat(a/p, 'f', 2, 64)+"×")
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
		}
	}
}
