package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/plural"
)

const statsSummary = `Usage: otelkinesis stats [flags] STREAM

Reads STREAM over a window (from --from to --until by arrival time, or to the end of
each shard as it stands when stats reaches it) and prints, per shard and
per signal: Kinesis records, user records, the aggregation ratio (user records per
Kinesis record), bytes as Kinesis counts them (data plus partition key), PUT payload
units (each record costs its size in 25 KiB units, rounded up: what a provisioned stream
bills), and the compression ratio (decompressed over stored OTLP bytes).

One aggregated record can hold several signals: a signal's row counts the Kinesis
records that hold any of it, and gets a share of their bytes and PUT units in proportion
to its user records' bytes. The "all" rows are exact.
`

// payloadUnit is a PUT payload unit, "25 KB", read as 25 KiB.
const payloadUnit = 25 << 10

// putUnits returns the PUT payload units of one record of n bytes (data plus key).
func putUnits(n int) int64 { return int64((n + payloadUnit - 1) / payloadUnit) }

// statsRow is the figures of one shard and signal ("all" for the whole shard).
type statsRow struct {
	Shard            string  `json:"shard"`
	Signal           string  `json:"signal"`
	Records          int64   `json:"records"`
	UserRecords      int64   `json:"user_records"`
	AggregationRatio float64 `json:"aggregation_ratio"`
	Bytes            float64 `json:"bytes"`
	PutUnits         float64 `json:"put_units"`
	PayloadBytes     int64   `json:"payload_bytes"`
	DecodedBytes     int64   `json:"decoded_bytes"`
	CompressionRatio float64 `json:"compression_ratio"`
}

func (r *statsRow) finish() {
	if r.Records > 0 {
		r.AggregationRatio = float64(r.UserRecords) / float64(r.Records)
	}
	if r.PayloadBytes > 0 {
		r.CompressionRatio = float64(r.DecodedBytes) / float64(r.PayloadBytes)
	}
}

// statsCounter accumulates rows.
type statsCounter struct {
	mu          sync.Mutex
	rows        map[[2]string]*statsRow
	undecodable int64
}

func (s *statsCounter) row(shard, signal string) *statsRow {
	k := [2]string{shard, signal}
	r := s.rows[k]
	if r == nil {
		r = &statsRow{Shard: shard, Signal: signal}
		s.rows[k] = r
	}
	return r
}

// userStat is what one user record adds to its signal's row.
type userStat struct {
	signal           string
	payload, decoded int
}

// add counts one Kinesis record of size bytes holding the given user records.
func (s *statsCounter) add(shard string, size int, users []userStat) {
	s.mu.Lock()
	defer s.mu.Unlock()
	units := putUnits(size)
	all := s.row(shard, "all")
	all.Records++
	all.Bytes += float64(size)
	all.PutUnits += float64(units)
	total := 0
	for _, u := range users {
		total += u.payload
	}
	seen := map[string]bool{}
	for _, u := range users {
		all.UserRecords++
		all.PayloadBytes += int64(u.payload)
		all.DecodedBytes += int64(u.decoded)
		r := s.row(shard, u.signal)
		if !seen[u.signal] {
			seen[u.signal] = true
			r.Records++
		}
		r.UserRecords++
		r.PayloadBytes += int64(u.payload)
		r.DecodedBytes += int64(u.decoded)
		share := 1 / float64(len(users))
		if total > 0 {
			share = float64(u.payload) / float64(total)
		}
		r.Bytes += share * float64(size)
		r.PutUnits += share * float64(units)
	}
}

// sorted returns the rows by shard, "all" first in each, then the stream's totals.
func (s *statsCounter) sorted() []statsRow {
	s.mu.Lock()
	defer s.mu.Unlock()
	var rows []statsRow
	totals := map[string]*statsRow{}
	for _, r := range s.rows {
		rows = append(rows, *r)
		t := totals[r.Signal]
		if t == nil {
			t = &statsRow{Shard: "all shards", Signal: r.Signal}
			totals[r.Signal] = t
		}
		t.Records += r.Records
		t.UserRecords += r.UserRecords
		t.Bytes += r.Bytes
		t.PutUnits += r.PutUnits
		t.PayloadBytes += r.PayloadBytes
		t.DecodedBytes += r.DecodedBytes
	}
	order := map[string]int{"all": 0, "traces": 1, "metrics": 2, "logs": 3}
	less := func(a, b statsRow) bool {
		if a.Shard != b.Shard {
			return a.Shard < b.Shard
		}
		oa, ok := order[a.Signal]
		if !ok {
			oa = 4
		}
		ob, ok := order[b.Signal]
		if !ok {
			ob = 4
		}
		return oa < ob
	}
	sort.Slice(rows, func(i, j int) bool { return less(rows[i], rows[j]) })
	var tot []statsRow
	for _, t := range totals {
		tot = append(tot, *t)
	}
	sort.Slice(tot, func(i, j int) bool { return less(tot[i], tot[j]) })
	rows = append(rows, tot...)
	for i := range rows {
		rows[i].finish()
	}
	return rows
}

func runStats(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs, "trim_horizon")
	until := fs.String("until", "", "end of the window, by arrival time: a time or a duration back from now;\ndefault: whatever each shard holds when stats reads its end")
	output := fs.String("output", "text", "text (a table) or json")
	fs.Usage = usageFunc(fs, statsSummary)
	pos, code := parseFlags(fs, args, stdout)
	if code >= 0 {
		return code
	}
	now := time.Now()
	stream, err := c.check(pos)
	var from startPosition
	if err == nil {
		from, err = parseFrom(c.from, now)
	}
	var end time.Time
	if err == nil && *until != "" {
		var p startPosition
		if p, err = parseFrom(*until, now); err == nil && p.at.IsZero() {
			err = fmt.Errorf("--until %q: want a time or a duration", *until)
		}
		end = p.at
	}
	if err == nil && *output != "text" && *output != "json" {
		err = fmt.Errorf("--output %q: want text or json", *output)
	}
	var dopts []consumer.DecodeOption
	if err == nil {
		dopts, err = c.decodeOptions()
	}
	if err != nil {
		fmt.Fprintf(stderr, "otelkinesis stats: %v\n", err)
		return exitUsage
	}
	client, err := c.kinesisClient(ctx, stream)
	if err != nil {
		fmt.Fprintf(stderr, "otelkinesis stats: %v\n", err)
		return exitFailure
	}
	dec, err := consumer.NewDecoder(dopts...)
	if err != nil {
		fmt.Fprintf(stderr, "otelkinesis stats: %v\n", err)
		return exitUsage
	}
	defer dec.Close()
	var deagg consumer.Deaggregator

	counter := &statsCounter{rows: map[[2]string]*statsRow{}}
	var errMu sync.Mutex
	w := &walker{
		api: client, stream: stream, from: from, follow: false, until: end,
		callTimeout: c.callTimeout, poll: c.poll, limit: int32(c.limit),
		warn: func(format string, a ...any) {
			errMu.Lock()
			defer errMu.Unlock()
			fmt.Fprintf(stderr, "otelkinesis stats: "+format+"\n", a...)
		},
		handle: func(ctx context.Context, b batch) error {
			for _, kr := range b.records {
				pk := aws.ToString(kr.PartitionKey)
				size := len(kr.Data) + len(pk)
				users, err := deagg.DeaggregateRecord(kr)
				if err != nil {
					errMu.Lock()
					counter.undecodable++
					fmt.Fprintf(stderr, "otelkinesis stats: skipped: %v\n", &consumer.RecordError{Shard: b.shard,
						SequenceNumber: aws.ToString(kr.SequenceNumber), SubSequenceNumber: -1, PartitionKey: pk, Err: err})
					errMu.Unlock()
					counter.add(b.shard, size, []userStat{{signal: "unreadable", payload: len(kr.Data)}})
					continue
				}
				stats := make([]userStat, 0, len(users))
				for _, u := range users {
					f, payload, err := dec.Payload(u)
					if err != nil {
						errMu.Lock()
						counter.undecodable++
						fmt.Fprintf(stderr, "otelkinesis stats: shard %s: %v\n", b.shard, err)
						errMu.Unlock()
						stats = append(stats, userStat{signal: "unreadable", payload: len(u.Data)})
						continue
					}
					stats = append(stats, userStat{signal: string(f.Signal), payload: len(u.Data), decoded: len(payload)})
				}
				counter.add(b.shard, size, stats)
			}
			return nil
		},
	}
	if err := w.run(ctx); err != nil {
		fmt.Fprintf(stderr, "otelkinesis stats: %v\n", err)
		return exitFailure
	}
	rows := counter.sorted()
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Stream      string     `json:"stream"`
			From        string     `json:"from"`
			Until       *time.Time `json:"until,omitempty"`
			Rows        []statsRow `json:"rows"`
			Undecodable int64      `json:"undecodable"`
		}{stream.String(), from.String(), untilPtr(end), rows, counter.undecodable}); err != nil {
			fmt.Fprintf(stderr, "otelkinesis stats: %v\n", err)
			return exitFailure
		}
	} else {
		writeStatsTable(stdout, stream, from, end, rows)
	}
	if counter.undecodable > 0 {
		fmt.Fprintf(stderr, "otelkinesis stats: %s could not be read (named above, counted as \"unreadable\")\n", plural.Count(counter.undecodable, "record"))
		return exitUndecoded
	}
	return exitOK
}

func untilPtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func writeStatsTable(w io.Writer, stream streamRef, from startPosition, end time.Time, rows []statsRow) {
	to := "the end of each shard"
	if !end.IsZero() {
		to = end.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(w, "Stream %s, records from %s to %s\n\n", stream, from, to)
	if len(rows) == 0 {
		fmt.Fprintln(w, "No records.")
		return
	}
	width := len("all shards")
	for _, r := range rows {
		width = max(width, len(r.Shard))
	}
	fmt.Fprintf(w, "%-*s  %-10s  %8s  %12s  %11s  %10s  %9s  %11s\n", width, "SHARD", "SIGNAL", "RECORDS", "USER RECORDS",
		"AGGREGATION", "BYTES", "PUT UNITS", "COMPRESSION")
	for _, r := range rows {
		units := fmt.Sprintf("%.1f", r.PutUnits)
		if r.Signal == "all" {
			units = fmt.Sprintf("%.0f", r.PutUnits)
		}
		comp := "-"
		if r.PayloadBytes > 0 && r.DecodedBytes > 0 {
			comp = fmt.Sprintf("%.2fx", r.CompressionRatio)
		}
		fmt.Fprintf(w, "%-*s  %-10s  %8d  %12d  %10.1fx  %10.0f  %9s  %11s\n", width, r.Shard, r.Signal, r.Records, r.UserRecords,
			r.AggregationRatio, r.Bytes, units, comp)
	}
}
