package kinesistest

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

// The operations the server implements, by X-Amz-Target name.
var operations = map[string]func(*Server, *call) (any, *APIError){
	"CreateStream":          (*Server).opCreateStream,
	"DeleteStream":          (*Server).opDeleteStream,
	"DescribeStream":        (*Server).opDescribeStream,
	"DescribeStreamSummary": (*Server).opDescribeStreamSummary,
	"ListStreams":           (*Server).opListStreams,
	"ListShards":            (*Server).opListShards,
	"PutRecord":             (*Server).opPutRecord,
	"PutRecords":            (*Server).opPutRecords,
	"GetShardIterator":      (*Server).opGetShardIterator,
	"GetRecords":            (*Server).opGetRecords,
	"SplitShard":            (*Server).opSplitShard,
	"MergeShards":           (*Server).opMergeShards,
	"UpdateShardCount":      (*Server).opUpdateShardCount,
	"UpdateMaxRecordSize":   (*Server).opUpdateMaxRecordSize,
}

func (s *Server) dispatch(c *call) (any, *APIError) {
	op, ok := operations[c.info.Operation]
	if !ok {
		return nil, clientError(typeUnknownOperation, "kinesistest does not implement %s", c.info.Operation)
	}
	return op(s, c)
}

// Patterns of the Kinesis API's string members.
var (
	hashKeyPattern   = regexp.MustCompile(`^(0|([1-9]\d{0,38}))$`)
	streamARNPattern = regexp.MustCompile(`^arn:aws.*:kinesis:.*:\d{12}:stream/\S+$`)
	sequencePattern  = regexp.MustCompile(`^(0|([1-9]\d{0,128}))$`)
)

const (
	hashKeyRegex    = `0|([1-9]\d{0,38})`
	streamNameRegex = `[a-zA-Z0-9_.-]+`
	streamARNRegex  = `arn:aws.*:kinesis:.*:\d{12}:stream/\S+`
	sequenceRegex   = `0|([1-9]\d{0,128})`
)

func validStreamName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// streamRef is how a request names a stream: by name, by ARN, or both.
type streamRef struct {
	StreamName *string
	StreamARN  *string
}

func (r streamRef) validate(v *validator) {
	if r.StreamName != nil {
		v.length(*r.StreamName, len(*r.StreamName), "streamName", 1, 128)
		v.pattern(r.StreamName, "streamName", streamNameRegex, validStreamName)
	}
	if r.StreamARN != nil {
		v.length(*r.StreamARN, len(*r.StreamARN), "streamARN", 1, 2048)
		v.pattern(r.StreamARN, "streamARN", streamARNRegex, streamARNPattern.MatchString)
	}
}

func (s *Server) streamARN(name string) string {
	return "arn:aws:kinesis:" + s.cfg.region + ":" + s.cfg.accountID + ":stream/" + name
}

// parseStreamARN returns the stream name of an ARN of this server's region and account.
func (s *Server) parseStreamARN(arn string) (string, bool) {
	name, ok := strings.CutPrefix(arn, "arn:aws:kinesis:"+s.cfg.region+":"+s.cfg.accountID+":stream/")
	return name, ok && name != ""
}

// lookupLocked finds the stream a request names. The caller holds s.mu.
func (s *Server) lookupLocked(r streamRef) (*stream, *APIError) {
	var name string
	switch {
	case r.StreamARN != nil:
		n, ok := s.parseStreamARN(*r.StreamARN)
		if !ok {
			return nil, clientError(typeResourceNotFound, "Stream %s not found.", *r.StreamARN)
		}
		if r.StreamName != nil && *r.StreamName != n {
			return nil, invalidArgument("StreamARN %s and StreamName %s name different streams.", *r.StreamARN, *r.StreamName)
		}
		name = n
	case r.StreamName != nil:
		name = *r.StreamName
	default:
		return nil, invalidArgument("Either StreamName or StreamARN must be provided.")
	}
	st, ok := s.streams[name]
	if !ok {
		return nil, s.streamNotFound(name)
	}
	return st, nil
}

// parse reads the request body into in and validates it with check, which sees in as
// decoded.
func parse[T any](c *call, in *T, check func(*validator)) *APIError {
	if err := decodeInput(c.body, in); err != nil {
		return err
	}
	var v validator
	check(&v)
	return v.err()
}

// lockStream locks s.mu and finds the stream ref names; on failure it unlocks.
func (s *Server) lockStream(ref streamRef) (*stream, *APIError) {
	s.mu.Lock()
	st, err := s.lookupLocked(ref)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	return st, nil
}

func (s *Server) opCreateStream(c *call) (any, *APIError) {
	var in struct {
		StreamName         *string
		ShardCount         *int64
		MaxRecordSizeInKiB *int64
		StreamModeDetails  *struct{ StreamMode *string }
	}
	err := parse(c, &in, func(v *validator) {
		v.notNull(in.StreamName != nil, "streamName")
		streamRef{StreamName: in.StreamName}.validate(v)
		v.intRange(in.ShardCount, "shardCount", 1, 1<<31-1)
		v.intRange(in.MaxRecordSizeInKiB, "maxRecordSizeInKiB", 1024, 10240)
		if in.StreamModeDetails != nil {
			v.notNull(in.StreamModeDetails.StreamMode != nil, "streamModeDetails.streamMode")
			v.enum(in.StreamModeDetails.StreamMode, "streamModeDetails.streamMode", modeProvisioned, modeOnDemand)
		}
	})
	if err != nil {
		return nil, err
	}
	mode := modeProvisioned
	if in.StreamModeDetails != nil {
		mode = *in.StreamModeDetails.StreamMode
	}
	shards := onDemandShards
	switch {
	case in.ShardCount != nil:
		shards = int(*in.ShardCount)
	case mode == modeProvisioned:
		return nil, invalidArgument("ShardCount is required for a stream in PROVISIONED mode.")
	}
	maxKiB := DefaultMaxRecordSizeKiB
	if in.MaxRecordSizeInKiB != nil {
		maxKiB = int(*in.MaxRecordSizeInKiB)
	}
	if _, err := s.createStream(*in.StreamName, shards, mode, maxKiB); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// createStream creates a stream of n shards of uniform ranges, ACTIVE at once.
func (s *Server) createStream(name string, n int, mode string, maxKiB int) (*stream, *APIError) {
	if n > maxShardsPerStream {
		return nil, clientError(typeLimitExceeded,
			"This request would exceed the shard limit for the account %s in %s. Limit: %d. Number of additional shards that would have resulted from this request: %d.",
			s.cfg.accountID, s.cfg.region, maxShardsPerStream, n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.streams[name]; ok {
		return nil, clientError(typeResourceInUse, "Stream %s under account %s already exists.", name, s.cfg.accountID)
	}
	now := s.cfg.now()
	s.gen++
	st := &stream{name: name, arn: s.streamARN(name), gen: s.gen, created: now, mode: mode, maxRecordKiB: maxKiB}
	for _, r := range uniformRanges(n) {
		st.addShard(r, "", "", now, s.cfg.capacity)
	}
	s.streams[name] = st
	return st, nil
}

func (s *Server) opDeleteStream(c *call) (any, *APIError) {
	var in streamRef
	if err := parse(c, &in, func(v *validator) { in.validate(v) }); err != nil {
		return nil, err
	}
	st, err := s.lockStream(in)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	s.deleteLocked(st)
	return struct{}{}, nil
}

func (s *Server) deleteLocked(st *stream) {
	st.deleted = true
	delete(s.streams, st.name)
}

type wireSummary struct {
	StreamName              string
	StreamARN               string
	StreamStatus            string
	StreamModeDetails       wireStreamMode
	RetentionPeriodHours    int
	StreamCreationTimestamp *epochTime
	EnhancedMonitoring      []wireEnhancedMetrics
	EncryptionType          string
	OpenShardCount          int
	ConsumerCount           int
	MaxRecordSizeInKiB      int
}

func (s *Server) opDescribeStreamSummary(c *call) (any, *APIError) {
	var in streamRef
	if err := parse(c, &in, func(v *validator) { in.validate(v) }); err != nil {
		return nil, err
	}
	st, err := s.lockStream(in)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	return struct{ StreamDescriptionSummary wireSummary }{s.summary(st)}, nil
}

func (s *Server) summary(st *stream) wireSummary {
	return wireSummary{
		StreamName:              st.name,
		StreamARN:               st.arn,
		StreamStatus:            "ACTIVE",
		StreamModeDetails:       wireStreamMode{st.mode},
		RetentionPeriodHours:    24,
		StreamCreationTimestamp: newEpoch(st.created),
		EnhancedMonitoring:      []wireEnhancedMetrics{{ShardLevelMetrics: []string{}}},
		EncryptionType:          "NONE",
		OpenShardCount:          len(st.openShards()),
		MaxRecordSizeInKiB:      st.maxRecordKiB,
	}
}

func (s *Server) opDescribeStream(c *call) (any, *APIError) {
	var in struct {
		streamRef
		Limit                 *int64
		ExclusiveStartShardId *string
	}
	if err := parse(c, &in, func(v *validator) {
		in.validate(v)
		v.intRange(in.Limit, "limit", 1, 10000)
	}); err != nil {
		return nil, err
	}
	limit := 100
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	st, err := s.lockStream(in.streamRef)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	shards := []wireShard{}
	more := false
	for _, sh := range st.shards {
		if in.ExclusiveStartShardId != nil && sh.id <= canonicalShardID(*in.ExclusiveStartShardId) {
			continue
		}
		if len(shards) == limit {
			more = true
			break
		}
		shards = append(shards, shardWire(sh))
	}
	type description struct {
		StreamName              string
		StreamARN               string
		StreamStatus            string
		StreamModeDetails       wireStreamMode
		Shards                  []wireShard
		HasMoreShards           bool
		RetentionPeriodHours    int
		StreamCreationTimestamp *epochTime
		EnhancedMonitoring      []wireEnhancedMetrics
		EncryptionType          string
	}
	return struct{ StreamDescription description }{description{
		StreamName:              st.name,
		StreamARN:               st.arn,
		StreamStatus:            "ACTIVE",
		StreamModeDetails:       wireStreamMode{st.mode},
		Shards:                  shards,
		HasMoreShards:           more,
		RetentionPeriodHours:    24,
		StreamCreationTimestamp: newEpoch(st.created),
		EnhancedMonitoring:      []wireEnhancedMetrics{{ShardLevelMetrics: []string{}}},
		EncryptionType:          "NONE",
	}}, nil
}

func (s *Server) opListStreams(c *call) (any, *APIError) {
	var in struct {
		Limit                    *int64
		ExclusiveStartStreamName *string
		NextToken                *string
	}
	if err := parse(c, &in, func(v *validator) {
		v.intRange(in.Limit, "limit", 1, 10000)
	}); err != nil {
		return nil, err
	}
	limit := 100
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	after := ""
	for _, p := range []*string{in.ExclusiveStartStreamName, in.NextToken} {
		if p != nil {
			after = *p
		}
	}
	type summary struct {
		StreamName              string
		StreamARN               string
		StreamStatus            string
		StreamModeDetails       wireStreamMode
		StreamCreationTimestamp *epochTime
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.streams))
	for name := range s.streams {
		if name > after {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	more := len(names) > limit
	if more {
		names = names[:limit]
	}
	out := struct {
		StreamNames     []string
		HasMoreStreams  bool
		NextToken       string `json:",omitempty"`
		StreamSummaries []summary
	}{StreamNames: names, HasMoreStreams: more, StreamSummaries: []summary{}}
	if more {
		out.NextToken = names[len(names)-1]
	}
	for _, name := range names {
		st := s.streams[name]
		out.StreamSummaries = append(out.StreamSummaries, summary{st.name, st.arn, "ACTIVE", wireStreamMode{st.mode}, newEpoch(st.created)})
	}
	return out, nil
}

// Shard filter types of ListShards.
const (
	filterAfterShardID    = "AFTER_SHARD_ID"
	filterAtTrimHorizon   = "AT_TRIM_HORIZON"
	filterFromTrimHorizon = "FROM_TRIM_HORIZON"
	filterAtLatest        = "AT_LATEST"
	filterAtTimestamp     = "AT_TIMESTAMP"
	filterFromTimestamp   = "FROM_TIMESTAMP"
)

// listShardsMax is the most shards one ListShards answer holds, whatever MaxResults says.
const listShardsMax = 1000

func (s *Server) opListShards(c *call) (any, *APIError) {
	var in struct {
		streamRef
		NextToken               *string
		ExclusiveStartShardId   *string
		MaxResults              *int64
		StreamCreationTimestamp *epochTime
		ShardFilter             *struct {
			Type      *string
			ShardId   *string
			Timestamp *epochTime
		}
	}
	if err := parse(c, &in, func(v *validator) {
		in.validate(v)
		v.intRange(in.MaxResults, "maxResults", 1, 10000)
		if in.NextToken != nil {
			v.length(*in.NextToken, len(*in.NextToken), "nextToken", 1, 1048576)
		}
		if f := in.ShardFilter; f != nil {
			v.notNull(f.Type != nil, "shardFilter.type")
			v.enum(f.Type, "shardFilter.type", filterAfterShardID, filterAtTrimHorizon, filterFromTrimHorizon, filterAtLatest, filterAtTimestamp, filterFromTimestamp)
		}
	}); err != nil {
		return nil, err
	}
	limit := listShardsMax
	if in.MaxResults != nil && *in.MaxResults < listShardsMax {
		limit = int(*in.MaxResults)
	}

	now := s.cfg.now()
	var tok shardsToken
	if in.NextToken != nil {
		if in.StreamName != nil || in.StreamARN != nil {
			return nil, invalidArgument("NextToken and StreamName cannot be provided together.")
		}
		if in.ExclusiveStartShardId != nil {
			return nil, invalidArgument("NextToken and ExclusiveStartShardId cannot be provided together.")
		}
		t, err := decodeShardsToken(*in.NextToken)
		if err != nil {
			return nil, invalidArgument("Invalid NextToken.")
		}
		if now.Sub(t.issued) > iteratorTTL {
			return nil, clientError(typeExpiredNextToken, "The NextToken has expired. It was issued at %s.", t.issued.UTC().Format(time.RFC3339))
		}
		tok = t
	} else {
		if in.ExclusiveStartShardId != nil {
			tok.after = canonicalShardID(*in.ExclusiveStartShardId)
		}
		if f := in.ShardFilter; f != nil {
			tok.filterType = *f.Type
			switch tok.filterType {
			case filterAfterShardID:
				if f.ShardId == nil {
					return nil, invalidArgument("ShardFilter of type AFTER_SHARD_ID requires a ShardId.")
				}
				tok.filterID = canonicalShardID(*f.ShardId)
			case filterAtTimestamp, filterFromTimestamp:
				if f.Timestamp == nil {
					return nil, invalidArgument("ShardFilter of type %s requires a Timestamp.", tok.filterType)
				}
				tok.filterTime = time.Time(*f.Timestamp).UnixNano()
			}
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var st *stream
	if in.NextToken != nil {
		st = s.streams[tok.stream]
		if st == nil || st.gen != tok.gen {
			return nil, s.streamNotFound(tok.stream)
		}
	} else {
		var err *APIError
		if st, err = s.lookupLocked(in.streamRef); err != nil {
			return nil, err
		}
		tok.stream, tok.gen = st.name, st.gen
	}
	shards := []wireShard{}
	var last string
	more := false
	for _, sh := range st.shards {
		if sh.id <= tok.after || !tok.matches(st, sh) {
			continue
		}
		if len(shards) == limit {
			more = true
			break
		}
		shards = append(shards, shardWire(sh))
		last = sh.id
	}
	out := struct {
		Shards    []wireShard
		NextToken string `json:",omitempty"`
	}{Shards: shards}
	if more {
		tok.after, tok.issued = last, now
		out.NextToken = encodeShardsToken(tok)
	}
	return out, nil
}

// matches applies a ListShards filter to sh. The server keeps every record, so the trim
// horizon is the stream's creation.
func (t shardsToken) matches(st *stream, sh *shard) bool {
	at := time.Unix(0, t.filterTime)
	if at.Before(st.created) {
		at = st.created
	}
	switch t.filterType {
	case filterAfterShardID:
		return sh.id > t.filterID
	case filterAtLatest:
		return sh.open
	case filterAtTrimHorizon:
		return sh.openAt(st.created)
	case filterAtTimestamp:
		return sh.openAt(at)
	case filterFromTimestamp:
		return sh.open || sh.closed.After(at)
	}
	return true // no filter, FROM_TRIM_HORIZON
}

func (s *Server) opGetShardIterator(c *call) (any, *APIError) {
	var in struct {
		streamRef
		ShardId                *string
		ShardIteratorType      *string
		StartingSequenceNumber *string
		Timestamp              *epochTime
	}
	if err := parse(c, &in, func(v *validator) {
		in.validate(v)
		v.notNull(in.ShardId != nil, "shardId")
		if in.ShardId != nil {
			v.length(*in.ShardId, len(*in.ShardId), "shardId", 1, 128)
		}
		v.notNull(in.ShardIteratorType != nil, "shardIteratorType")
		v.enum(in.ShardIteratorType, "shardIteratorType", "AFTER_SEQUENCE_NUMBER", "LATEST", "AT_TIMESTAMP", "AT_SEQUENCE_NUMBER", "TRIM_HORIZON")
		v.pattern(in.StartingSequenceNumber, "startingSequenceNumber", sequenceRegex, sequencePattern.MatchString)
	}); err != nil {
		return nil, err
	}
	typ := *in.ShardIteratorType

	st, err := s.lockStream(in.streamRef)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	sh := st.shard(*in.ShardId)
	if sh == nil {
		return nil, s.shardNotFound(*in.ShardId, st.name)
	}
	var pos uint64
	bySeq := typ == "AT_SEQUENCE_NUMBER" || typ == "AFTER_SEQUENCE_NUMBER"
	switch {
	case bySeq != (in.StartingSequenceNumber != nil):
		with := "no"
		if in.StartingSequenceNumber != nil {
			with = "also a"
		}
		return nil, invalidArgument("Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified %s and %s StartingSequenceNumber.", typ, with)
	case bySeq:
		n, ok := parseSeq(*in.StartingSequenceNumber)
		if !ok || n < sh.startSeq || (!sh.open && n > sh.endSeq) || n > st.seq {
			return nil, invalidArgument("StartingSequenceNumber %s used in GetShardIterator on shard %s in stream %s under account %s is invalid.",
				*in.StartingSequenceNumber, sh.id, st.name, s.cfg.accountID)
		}
		pos = n
		if typ == "AFTER_SEQUENCE_NUMBER" {
			pos++
		}
	case typ == "TRIM_HORIZON":
		pos = sh.startSeq
	case typ == "LATEST":
		pos = st.seq + 1
	case typ == "AT_TIMESTAMP":
		if in.Timestamp == nil {
			return nil, invalidArgument("Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.")
		}
		t := time.Time(*in.Timestamp)
		i := sort.Search(len(sh.records), func(i int) bool { return !sh.records[i].arrival.Before(t) })
		pos = st.seq + 1
		if i < len(sh.records) {
			pos = sh.records[i].seq
		}
	}
	if !sh.open && pos > sh.endSeq {
		pos = sh.endSeq + 1
	}
	it := iterator{gen: st.gen, stream: st.name, shard: sh.id, pos: pos, issued: s.cfg.now()}
	return struct{ ShardIterator string }{encodeIterator(it)}, nil
}

// getRecordsMaxBytes is the most data one GetRecords answer carries.
const getRecordsMaxBytes = 10 << 20

func (s *Server) opGetRecords(c *call) (any, *APIError) {
	var in struct {
		ShardIterator *string
		Limit         *int64
		StreamARN     *string
	}
	if err := parse(c, &in, func(v *validator) {
		v.notNull(in.ShardIterator != nil, "shardIterator")
		if in.ShardIterator != nil {
			v.length(*in.ShardIterator, len(*in.ShardIterator), "shardIterator", 1, 512)
		}
		v.intRange(in.Limit, "limit", 1, 10000)
		streamRef{StreamARN: in.StreamARN}.validate(v)
	}); err != nil {
		return nil, err
	}
	it, derr := decodeIterator(*in.ShardIterator)
	if derr != nil {
		return nil, invalidArgument("Invalid ShardIterator.")
	}
	limit := 10000
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	now := s.cfg.now()
	if now.Sub(it.issued) > iteratorTTL {
		return nil, clientError(typeExpiredIterator,
			"Iterator expired. The iterator was created at time %s while right now it is %s which is further in the future than the tolerated delay of %d milliseconds.",
			amzTime(it.issued), amzTime(now), iteratorTTL.Milliseconds())
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streams[it.stream]
	if st == nil || st.gen != it.gen {
		return nil, s.shardNotFound(it.shard, it.stream)
	}
	if in.StreamARN != nil && *in.StreamARN != st.arn {
		return nil, invalidArgument("StreamARN %s does not match the stream of the ShardIterator.", *in.StreamARN)
	}
	sh := st.shard(it.shard)
	if sh == nil {
		return nil, s.shardNotFound(it.shard, it.stream)
	}
	first := sh.firstAtOrAfter(it.pos)
	records := []wireRecord{}
	size := 0
	end := first
	for end < len(sh.records) && len(records) < limit && (size == 0 || size+len(sh.records[end].data) <= getRecordsMaxBytes) {
		r := &sh.records[end]
		records = append(records, wireRecord{
			SequenceNumber:              formatSeq(r.seq),
			ApproximateArrivalTimestamp: newEpoch(r.arrival),
			Data:                        r.data,
			PartitionKey:                r.pk,
		})
		size += len(r.data)
		end++
	}
	next := it
	next.issued = now
	if end > first {
		next.pos = sh.records[end-1].seq + 1
	}
	out := struct {
		Records            []wireRecord
		NextShardIterator  string `json:",omitempty"`
		MillisBehindLatest int64
		ChildShards        []wireChildShard `json:",omitempty"`
	}{Records: records}
	if end < len(sh.records) {
		out.MillisBehindLatest = max(0, now.Sub(sh.records[end].arrival).Milliseconds())
	}
	if !sh.open && end == len(sh.records) {
		// The closed shard is read to its end: no next iterator, and the children to
		// read next.
		out.ChildShards = []wireChildShard{}
		for _, ch := range st.children(sh.id) {
			parents := []string{ch.parent}
			if ch.adjacentParent != "" {
				parents = append(parents, ch.adjacentParent)
			}
			out.ChildShards = append(out.ChildShards, wireChildShard{ShardId: ch.id, ParentShards: parents, HashKeyRange: rangeWire(ch.rng)})
		}
		return out, nil
	}
	out.NextShardIterator = encodeIterator(next)
	return out, nil
}

// amzTime formats t as Kinesis's iterator expiry message does: "Thu Jan 22 01:22:02 UTC 2015".
func amzTime(t time.Time) string { return t.UTC().Format("Mon Jan 2 15:04:05 MST 2006") }

func (s *Server) opSplitShard(c *call) (any, *APIError) {
	var in struct {
		streamRef
		ShardToSplit       *string
		NewStartingHashKey *string
	}
	if err := parse(c, &in, func(v *validator) {
		in.validate(v)
		v.notNull(in.ShardToSplit != nil, "shardToSplit")
		v.notNull(in.NewStartingHashKey != nil, "newStartingHashKey")
		v.pattern(in.NewStartingHashKey, "newStartingHashKey", hashKeyRegex, hashKeyPattern.MatchString)
	}); err != nil {
		return nil, err
	}
	st, err := s.lockStream(in.streamRef)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	return struct{}{}, s.splitLocked(st, *in.ShardToSplit, *in.NewStartingHashKey)
}

func (s *Server) splitLocked(st *stream, shardToSplit, newStart string) *APIError {
	sh := st.shard(shardToSplit)
	if sh == nil {
		return clientError(typeResourceNotFound, "Could not find shard %s in stream %s under account %s.", shardToSplit, st.name, s.cfg.accountID)
	}
	if !sh.open {
		return invalidArgument("Shard %s in stream %s under account %s has already been merged or split, and thus is not eligible for splitting.", sh.id, st.name, s.cfg.accountID)
	}
	h, perr := aggregation.ParseHashKey(newStart)
	if perr != nil || h.Compare(nextKey(sh.rng.Start)) <= 0 || h.Compare(sh.rng.End) >= 0 {
		return invalidArgument("NewStartingHashKey %s used in SplitShard() on shard %s in stream %s under account %s is not both greater than one plus the shard's StartingHashKey %s and less than the shard's EndingHashKey %s.",
			newStart, sh.id, st.name, s.cfg.accountID, sh.rng.Start, sh.rng.End)
	}
	st.split(sh, h, s.cfg.now(), s.cfg.capacity)
	return nil
}

func (s *Server) opMergeShards(c *call) (any, *APIError) {
	var in struct {
		streamRef
		ShardToMerge         *string
		AdjacentShardToMerge *string
	}
	if err := parse(c, &in, func(v *validator) {
		in.validate(v)
		v.notNull(in.ShardToMerge != nil, "shardToMerge")
		v.notNull(in.AdjacentShardToMerge != nil, "adjacentShardToMerge")
	}); err != nil {
		return nil, err
	}
	st, err := s.lockStream(in.streamRef)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	return struct{}{}, s.mergeLocked(st, *in.ShardToMerge, *in.AdjacentShardToMerge)
}

func (s *Server) mergeLocked(st *stream, first, second string) *APIError {
	var pair [2]*shard
	for i, id := range []string{first, second} {
		if pair[i] = st.shard(id); pair[i] == nil {
			return clientError(typeResourceNotFound, "Could not find shard %s in stream %s under account %s.", id, st.name, s.cfg.accountID)
		}
		if !pair[i].open {
			return invalidArgument("Shard %s in stream %s under account %s has already been merged or split, and thus is not eligible for merging.", pair[i].id, st.name, s.cfg.accountID)
		}
	}
	if pair[0] == pair[1] || !adjacent(pair[0], pair[1]) {
		return invalidArgument("Shards %s and %s in stream %s under account %s are not an adjacent pair of shards eligible for merging",
			pair[0].id, pair[1].id, st.name, s.cfg.accountID)
	}
	st.merge(pair[0], pair[1], s.cfg.now(), s.cfg.capacity)
	return nil
}

func (s *Server) opUpdateShardCount(c *call) (any, *APIError) {
	var in struct {
		streamRef
		TargetShardCount *int64
		ScalingType      *string
	}
	if err := parse(c, &in, func(v *validator) {
		in.validate(v)
		v.notNull(in.TargetShardCount != nil, "targetShardCount")
		v.intRange(in.TargetShardCount, "targetShardCount", 1, 1<<31-1)
		v.notNull(in.ScalingType != nil, "scalingType")
		v.enum(in.ScalingType, "scalingType", "UNIFORM_SCALING")
	}); err != nil {
		return nil, err
	}
	st, err := s.lockStream(in.streamRef)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	current := len(st.openShards())
	if err := s.updateShardCountLocked(st, int(*in.TargetShardCount)); err != nil {
		return nil, err
	}
	return struct {
		StreamName        string
		StreamARN         string
		CurrentShardCount int
		TargetShardCount  int64
	}{st.name, st.arn, current, *in.TargetShardCount}, nil
}

func (s *Server) updateShardCountLocked(st *stream, target int) *APIError {
	current := len(st.openShards())
	if target > 2*current || 2*target < current || target > maxShardsPerStream {
		return clientError(typeLimitExceeded,
			"UpdateShardCount of stream %s under account %s from %d to %d shards refused: the target must lie between half and double the current shard count, and at most %d.",
			st.name, s.cfg.accountID, current, target, maxShardsPerStream)
	}
	if target != current {
		st.reshardUniform(target, s.cfg.now(), s.cfg.capacity)
	}
	return nil
}

func (s *Server) opUpdateMaxRecordSize(c *call) (any, *APIError) {
	var in struct {
		streamRef
		MaxRecordSizeInKiB *int64
	}
	if err := parse(c, &in, func(v *validator) {
		in.validate(v)
		v.notNull(in.MaxRecordSizeInKiB != nil, "maxRecordSizeInKiB")
		v.intRange(in.MaxRecordSizeInKiB, "maxRecordSizeInKiB", 1024, 10240)
	}); err != nil {
		return nil, err
	}
	st, err := s.lockStream(in.streamRef)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	st.maxRecordKiB = int(*in.MaxRecordSizeInKiB)
	return struct{}{}, nil
}

// dryRun answers a request that passed validation but asked only to be checked.
func dryRun() *APIError {
	return &APIError{StatusCode: http.StatusPreconditionFailed, Type: typeDryRunOperation,
		Message: "Request would have succeeded, but DryRun flag is set."}
}
