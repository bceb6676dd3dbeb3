package kinesistest

import (
	"bytes"
	"time"
)

// Stream is a handle on one stream of a [Server], for setting it up and for reading what
// landed on its shards without going through GetRecords. It stays readable after the
// stream is deleted. Its methods are safe for concurrent use.
type Stream struct {
	srv *Server
	st  *stream
}

// Shard describes one shard of a stream, as ListShards does, with the server's counts.
type Shard struct {
	// ID is the shard ID, such as "shardId-000000000000".
	ID string
	// ParentID and AdjacentParentID name the shards this one was split or merged from,
	// "" for the shards the stream was created with.
	ParentID, AdjacentParentID string
	// StartingHashKey and EndingHashKey are the shard's inclusive hash key range, in
	// decimal.
	StartingHashKey, EndingHashKey string
	// StartingSequenceNumber is at or below every sequence number of the shard's records;
	// EndingSequenceNumber, set once the shard is closed, is at or above all of them.
	StartingSequenceNumber, EndingSequenceNumber string
	// Open reports whether the shard accepts writes (it has not been split or merged).
	Open bool
	// Records is the number of records written to the shard.
	Records int64
	// Throttled is the number of records refused on this shard with
	// ProvisionedThroughputExceededException, injected or for capacity.
	Throttled int64
}

// Record is one record stored on a shard.
type Record struct {
	// ShardID and SequenceNumber say where the record is.
	ShardID, SequenceNumber string
	// PartitionKey and ExplicitHashKey are as written ("" when no ExplicitHashKey was
	// sent).
	PartitionKey, ExplicitHashKey string
	// HashKey is the decimal hash key the record was routed by: the ExplicitHashKey, or
	// the MD5 of the partition key.
	HashKey string
	// Data is the record's data.
	Data []byte
	// ArrivalTime is when the record arrived, by the server's clock, as
	// ApproximateArrivalTimestamp reports it.
	ArrivalTime time.Time
}

// CreateStream creates a provisioned stream of the given number of shards, ACTIVE at
// once, with the hash key ranges AWS gives a new stream (see the package documentation).
// It fails with a ResourceInUseException if the name is taken, and with a
// ValidationException for an invalid name, shard count or option.
func (s *Server) CreateStream(name string, shards int, opts ...StreamOption) (*Stream, error) {
	cfg := streamConfig{maxRecordKiB: DefaultMaxRecordSizeKiB}
	for _, o := range opts {
		if o != nil {
			o.applyStream(&cfg)
		}
	}
	var v validator
	streamRef{StreamName: &name}.validate(&v)
	n, kib := int64(shards), int64(cfg.maxRecordKiB)
	v.intRange(&n, "shardCount", 1, maxShardsPerStream)
	v.intRange(&kib, "maxRecordSizeInKiB", 1024, 10240)
	if err := v.err(); err != nil {
		return nil, err
	}
	st, err := s.createStream(name, shards, modeProvisioned, cfg.maxRecordKiB)
	if err != nil {
		return nil, err
	}
	return &Stream{srv: s, st: st}, nil
}

// Stream returns the stream named by name or ARN, or nil if there is none.
func (s *Server) Stream(nameOrARN string) *Stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := nameOrARN
	if n, ok := s.parseStreamARN(nameOrARN); ok {
		name = n
	}
	st, ok := s.streams[name]
	if !ok {
		return nil
	}
	return &Stream{srv: s, st: st}
}

// DeleteStream deletes the stream at once. Handles on it stay readable.
func (s *Server) DeleteStream(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.lookupLocked(streamRef{StreamName: &name})
	if err != nil {
		return err
	}
	s.deleteLocked(st)
	return nil
}

// Name returns the stream's name.
func (st *Stream) Name() string { return st.st.name }

// ARN returns the stream's ARN, arn:aws:kinesis:REGION:ACCOUNT:stream/NAME.
func (st *Stream) ARN() string { return st.st.arn }

// MaxRecordSizeKiB returns the stream's record size limit in KiB.
func (st *Stream) MaxRecordSizeKiB() int {
	st.srv.mu.Lock()
	defer st.srv.mu.Unlock()
	return st.st.maxRecordKiB
}

// Shards returns every shard of the stream, open and closed, in the order they were
// created.
func (st *Stream) Shards() []Shard {
	st.srv.mu.Lock()
	defer st.srv.mu.Unlock()
	out := make([]Shard, len(st.st.shards))
	for i, sh := range st.st.shards {
		w := shardWire(sh)
		out[i] = Shard{
			ID:                     sh.id,
			ParentID:               sh.parent,
			AdjacentParentID:       sh.adjacentParent,
			StartingHashKey:        w.HashKeyRange.StartingHashKey,
			EndingHashKey:          w.HashKeyRange.EndingHashKey,
			StartingSequenceNumber: w.SequenceNumberRange.StartingSequenceNumber,
			EndingSequenceNumber:   w.SequenceNumberRange.EndingSequenceNumber,
			Open:                   sh.open,
			Records:                sh.accepted,
			Throttled:              sh.throttled,
		}
	}
	return out
}

// OpenShards returns the IDs of the open shards, ordered by hash key range.
func (st *Stream) OpenShards() []string {
	st.srv.mu.Lock()
	defer st.srv.mu.Unlock()
	var ids []string
	for _, sh := range st.st.openShards() {
		ids = append(ids, sh.id)
	}
	return ids
}

// Records returns the records on one shard, in sequence order; nil for an unknown shard.
// The result is a copy.
func (st *Stream) Records(shardID string) []Record {
	st.srv.mu.Lock()
	defer st.srv.mu.Unlock()
	sh := st.st.shard(shardID)
	if sh == nil {
		return nil
	}
	return appendRecords(nil, sh)
}

// AllRecords returns the records of every shard, shard by shard in creation order, each
// shard's in sequence order. The result is a copy.
func (st *Stream) AllRecords() []Record {
	st.srv.mu.Lock()
	defer st.srv.mu.Unlock()
	var out []Record
	for _, sh := range st.st.shards {
		out = appendRecords(out, sh)
	}
	return out
}

func appendRecords(out []Record, sh *shard) []Record {
	for _, r := range sh.records {
		out = append(out, Record{
			ShardID:         sh.id,
			SequenceNumber:  formatSeq(r.seq),
			PartitionKey:    r.pk,
			ExplicitHashKey: r.ehk,
			HashKey:         r.hash.String(),
			Data:            bytes.Clone(r.data),
			ArrivalTime:     r.arrival,
		})
	}
	return out
}

// SplitShard splits an open shard at newStartingHashKey (decimal) as the SplitShard
// operation does: the shard closes and two children open at once.
func (st *Stream) SplitShard(shardID, newStartingHashKey string) error {
	st.srv.mu.Lock()
	defer st.srv.mu.Unlock()
	if err := st.live(); err != nil {
		return err
	}
	if err := st.srv.splitLocked(st.st, shardID, newStartingHashKey); err != nil {
		return err
	}
	return nil
}

// MergeShards merges two open shards with adjacent hash key ranges as the MergeShards
// operation does: both close and one child opens at once.
func (st *Stream) MergeShards(shardID, adjacentShardID string) error {
	st.srv.mu.Lock()
	defer st.srv.mu.Unlock()
	if err := st.live(); err != nil {
		return err
	}
	if err := st.srv.mergeLocked(st.st, shardID, adjacentShardID); err != nil {
		return err
	}
	return nil
}

// UpdateShardCount reshards the stream to target shards of uniform ranges, as the
// UpdateShardCount operation with UNIFORM_SCALING does, at once.
func (st *Stream) UpdateShardCount(target int) error {
	st.srv.mu.Lock()
	defer st.srv.mu.Unlock()
	if err := st.live(); err != nil {
		return err
	}
	if target < 1 {
		return clientError(typeValidation, "1 validation error detected: Value '%d' at 'targetShardCount' failed to satisfy constraint: Member must have value greater than or equal to 1", target)
	}
	if err := st.srv.updateShardCountLocked(st.st, target); err != nil {
		return err
	}
	return nil
}

// live fails if the stream was deleted. The caller holds the server's lock.
func (st *Stream) live() *APIError {
	if st.st.deleted {
		return st.srv.streamNotFound(st.st.name)
	}
	return nil
}
