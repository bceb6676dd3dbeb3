package kinesistest

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

// maxPutRecordsEntries is the most entries a PutRecords request may hold.
const maxPutRecordsEntries = 500

// putEntry is one record of a PutRecords or PutRecord request.
type putEntry struct {
	Data            blob // nil when null or absent; empty when ""
	PartitionKey    *string
	ExplicitHashKey *string
}

// putResult is the outcome of one entry.
type putResult struct {
	shard     *shard
	seq       uint64
	errorCode string
	errorMsg  string
}

func (s *Server) opPutRecords(c *call) (any, *APIError) {
	var in struct {
		streamRef
		Records []putEntry
		DryRun  *bool
	}
	err := parse(c, &in, func(v *validator) {
		s.logEntries(c.rec, in.Records, nil)
		in.validate(v)
		v.notNull(in.Records != nil, "records")
		if in.Records != nil {
			v.length(entriesValue(len(in.Records)), len(in.Records), "records", 1, maxPutRecordsEntries)
		}
		for i, e := range in.Records {
			e.validate(v, fmt.Sprintf("records.%d.member.", i+1))
		}
	})
	if err != nil {
		return nil, err
	}
	results, err := s.put(c, in.streamRef, in.Records, in.DryRun != nil && *in.DryRun, func(i int) string {
		return fmt.Sprintf("records.%d.member.data", i+1)
	})
	if err != nil {
		return nil, err
	}
	type resultEntry struct {
		SequenceNumber string `json:",omitempty"`
		ShardId        string `json:",omitempty"`
		ErrorCode      string `json:",omitempty"`
		ErrorMessage   string `json:",omitempty"`
	}
	out := struct {
		FailedRecordCount int
		Records           []resultEntry
	}{Records: make([]resultEntry, len(results))}
	for i, r := range results {
		if r.errorCode != "" {
			out.FailedRecordCount++
			out.Records[i] = resultEntry{ErrorCode: r.errorCode, ErrorMessage: r.errorMsg}
			continue
		}
		out.Records[i] = resultEntry{SequenceNumber: formatSeq(r.seq), ShardId: r.shard.id}
	}
	return out, nil
}

func (s *Server) opPutRecord(c *call) (any, *APIError) {
	var in struct {
		streamRef
		putEntry
		SequenceNumberForOrdering *string
	}
	err := parse(c, &in, func(v *validator) {
		s.logEntries(c.rec, []putEntry{in.putEntry}, nil)
		in.streamRef.validate(v)
		in.putEntry.validate(v, "")
		v.pattern(in.SequenceNumberForOrdering, "sequenceNumberForOrdering", sequenceRegex, sequencePattern.MatchString)
	})
	if err != nil {
		return nil, err
	}
	results, err := s.put(c, in.streamRef, []putEntry{in.putEntry}, false, func(int) string { return "data" })
	if err != nil {
		return nil, err
	}
	r := results[0]
	switch r.errorCode {
	case "":
		return struct {
			ShardId        string
			SequenceNumber string
		}{r.shard.id, formatSeq(r.seq)}, nil
	case typeInternalFailure:
		return nil, &APIError{StatusCode: http.StatusInternalServerError, Type: typeInternalFailure, Message: r.errorMsg}
	default:
		return nil, clientError(r.errorCode, "%s", r.errorMsg)
	}
}

// entriesValue is how Kinesis shows a list of entries in a validation message.
func entriesValue(n int) string {
	return fmt.Sprintf("[%d PutRecordsRequestEntry]", n)
}

// validate checks one entry's members against the API model; prefix is the path of the
// entry ("records.3.member." or "" for PutRecord).
func (e *putEntry) validate(v *validator, prefix string) {
	v.notNull(e.PartitionKey != nil, prefix+"partitionKey")
	if e.PartitionKey != nil {
		v.length(*e.PartitionKey, aggregation.PartitionKeyLen(*e.PartitionKey), prefix+"partitionKey", 1, aggregation.MaxPartitionKeyLen)
	}
	v.pattern(e.ExplicitHashKey, prefix+"explicitHashKey", hashKeyRegex, hashKeyPattern.MatchString)
	v.notNull(e.Data != nil, prefix+"data")
}

// put validates entries against the stream and the request limits, routes each to its
// shard, applies the scripted entry faults and write capacity, and writes the records
// that pass. A request-level problem returns an error and writes nothing; so does a
// request that only asks to be checked. dataPath names an entry's data member in
// validation messages.
func (s *Server) put(c *call, ref streamRef, entries []putEntry, checkOnly bool, dataPath func(int) string) ([]putResult, *APIError) {
	s.mu.Lock()
	st, err := s.lookupLocked(ref)
	var maxData int
	if st != nil {
		maxData = st.maxRecordKiB << 10
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}

	var v validator
	hashes := make([]aggregation.HashKey, len(entries))
	total := 0
	for i, e := range entries {
		if len(e.Data) > maxData {
			val := blobValue(len(e.Data))
			v.fail(&val, dataPath(i), "Member must have length less than or equal to "+strconv.Itoa(maxData))
		}
		total += len(e.Data) + len(*e.PartitionKey)
		if e.ExplicitHashKey == nil {
			hashes[i] = aggregation.HashPartitionKey(*e.PartitionKey)
			continue
		}
		h, perr := aggregation.ParseHashKey(*e.ExplicitHashKey)
		if perr != nil {
			return nil, invalidArgument("Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was %s", *e.ExplicitHashKey)
		}
		hashes[i] = h
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if total > s.cfg.requestLimit {
		return nil, invalidArgument("Records size exceeds %s limit", sizeText(s.cfg.requestLimit))
	}
	if checkOnly {
		return nil, dryRun()
	}

	results := make([]putResult, len(entries))
	// Scripted entry faults come first, decided with no lock held so that a test's
	// function may call the server; the shard they see is the one routing picks now.
	if s.faults.hasEntryRules() {
		s.mu.Lock()
		ids := make([]string, len(entries))
		if !st.deleted {
			for i, h := range hashes {
				ids[i] = st.route(h).id
			}
		}
		s.mu.Unlock()
		for i, e := range entries {
			info := EntryInfo{
				Seq: c.info.Seq, Operation: c.info.Operation, Index: i, Stream: st.name, ShardID: ids[i],
				PartitionKey: *e.PartitionKey, Data: e.Data, Attempt: c.info.Attempt,
			}
			if e.ExplicitHashKey != nil {
				info.ExplicitHashKey = *e.ExplicitHashKey
			}
			switch s.faults.entryFault(&info) {
			case EntryThrottled:
				results[i] = putResult{errorCode: typeThroughputExceeded, errorMsg: s.rateExceeded(ids[i], st.name)}
			case EntryInternalFailure:
				results[i] = putResult{errorCode: typeInternalFailure, errorMsg: internalFailureMessage}
			}
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if st.deleted {
		return nil, s.streamNotFound(st.name)
	}
	now := s.cfg.now()
	for i, e := range entries {
		r := &results[i]
		sh := st.route(hashes[i])
		if r.errorCode != "" {
			if r.errorCode == typeThroughputExceeded {
				sh.throttled++
				s.counters.throttled.Add(1)
			} else {
				s.counters.fail.Add(1)
			}
			continue
		}
		n := len(e.Data) + len(*e.PartitionKey)
		if sh.bucket != nil && !sh.bucket.take(now, n) {
			*r = putResult{errorCode: typeThroughputExceeded, errorMsg: s.rateExceeded(sh.id, st.name)}
			sh.throttled++
			s.counters.throttled.Add(1)
			s.counters.overCapacity.Add(1)
			continue
		}
		rec := storedRecord{pk: *e.PartitionKey, hash: hashes[i], data: e.Data, arrival: now}
		if e.ExplicitHashKey != nil {
			rec.ehk = *e.ExplicitHashKey
		}
		r.shard = sh
		r.seq = st.appendRecord(sh, rec, s.cfg.keepData)
		s.counters.accepted.Add(1)
		s.counters.acceptedBytes.Add(int64(n))
	}
	s.logEntries(c.rec, entries, results)
	return results, nil
}

// logEntries puts the entries, and their outcomes when results is not nil, in the
// request's record.
func (s *Server) logEntries(rec *RecordedRequest, entries []putEntry, results []putResult) {
	if !s.cfg.logRequests {
		return
	}
	rec.Entries = make([]RecordedEntry, len(entries))
	for i, e := range entries {
		re := RecordedEntry{Data: e.Data}
		if e.PartitionKey != nil {
			re.PartitionKey = *e.PartitionKey
		}
		if e.ExplicitHashKey != nil {
			re.ExplicitHashKey = *e.ExplicitHashKey
		}
		if results != nil {
			r := results[i]
			re.ErrorCode, re.ErrorMessage = r.errorCode, r.errorMsg
			if r.shard != nil {
				re.ShardID, re.SequenceNumber = r.shard.id, formatSeq(r.seq)
			}
		}
		rec.Entries[i] = re
	}
}

// sizeText writes a byte count as Kinesis's limit message does: "5 MB" for whole MiB.
func sizeText(n int) string {
	if n%(1<<20) == 0 {
		return strconv.Itoa(n>>20) + " MB"
	}
	return strconv.Itoa(n) + " bytes"
}
