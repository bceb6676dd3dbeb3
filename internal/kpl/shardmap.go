package kpl

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

// shardInfo is one shard as ListShards reports it.
type shardInfo struct {
	id   string
	rng  aggregation.HashRange
	open bool // no ending sequence number: the shard takes writes
}

// shardMap is a validated snapshot of a stream's shards: the open shards in
// hash key order, covering 0 to 2^128-1 with neither gap nor overlap, and
// the ranges of every listed shard, closed ones included, by ID.
type shardMap struct {
	open  []shardInfo
	byID  map[string]aggregation.HashRange
	pages int // ListShards calls it took
}

// errShardMap wraps every reason a ListShards result cannot be used.
var errShardMap = errors.New("unusable shard map")

// maxShardPages bounds the ListShards pages read for one map (1000 shards a
// page; Kinesis allows at most 10000 open shards a stream by default).
const maxShardPages = 1000

// listShards reads every shard of the stream, following NextToken.
func listShards(ctx context.Context, c Client, cfg *Config, opt func(*kinesis.Options)) (*shardMap, error) {
	var (
		infos []shardInfo
		token *string
		pages int
	)
	for {
		in := &kinesis.ListShardsInput{}
		if token != nil {
			// With NextToken the API refuses a stream name or ARN.
			in.NextToken = token
		} else {
			if cfg.StreamName != "" {
				in.StreamName = aws.String(cfg.StreamName)
			}
			if cfg.StreamARN != "" {
				in.StreamARN = aws.String(cfg.StreamARN)
			}
		}
		rctx, cancel := context.WithTimeout(ctx, cfg.RequestTimeout)
		out, err := c.ListShards(rctx, in, opt)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("stream %q: ListShards: %w", cfg.stream(), err)
		}
		pages++
		for _, s := range out.Shards {
			if s.ShardId == nil || s.HashKeyRange == nil ||
				s.HashKeyRange.StartingHashKey == nil || s.HashKeyRange.EndingHashKey == nil {
				return nil, fmt.Errorf("stream %q: ListShards returned a shard without ID or hash key range: %w",
					cfg.stream(), errShardMap)
			}
			rng, err := aggregation.ParseHashRange(*s.HashKeyRange.StartingHashKey, *s.HashKeyRange.EndingHashKey)
			if err != nil {
				return nil, fmt.Errorf("stream %q: shard %s: %w: %w", cfg.stream(), *s.ShardId, errShardMap, err)
			}
			open := s.SequenceNumberRange == nil || s.SequenceNumberRange.EndingSequenceNumber == nil
			infos = append(infos, shardInfo{id: *s.ShardId, rng: rng, open: open})
		}
		if out.NextToken == nil || *out.NextToken == "" {
			break
		}
		if pages >= maxShardPages {
			return nil, fmt.Errorf("stream %q: ListShards: more than %d pages: %w", cfg.stream(), maxShardPages, errShardMap)
		}
		token = out.NextToken
	}
	m, err := newShardMap(infos)
	if err != nil {
		return nil, fmt.Errorf("stream %q: %w", cfg.stream(), err)
	}
	m.pages = pages
	return m, nil
}

// newShardMap checks that the open shards cover the whole hash key space
// exactly once and indexes them.
func newShardMap(infos []shardInfo) (*shardMap, error) {
	m := &shardMap{byID: make(map[string]aggregation.HashRange, len(infos))}
	for _, s := range infos {
		m.byID[s.id] = s.rng
		if s.open {
			m.open = append(m.open, s)
		}
	}
	if len(m.open) == 0 {
		return nil, fmt.Errorf("no open shard: %w", errShardMap)
	}
	slices.SortFunc(m.open, func(a, b shardInfo) int { return a.rng.Start.Compare(b.rng.Start) })
	var next aggregation.HashKey // the first hash key not yet covered
	for i, s := range m.open {
		if s.rng.Start.Compare(next) != 0 || s.rng.End.Compare(s.rng.Start) < 0 {
			return nil, fmt.Errorf("open shard %s covers %s, expected it to start at %s: %w",
				s.id, s.rng, next, errShardMap)
		}
		if s.rng.End == aggregation.MaxHashKey {
			if i != len(m.open)-1 {
				return nil, fmt.Errorf("open shards overlap after %s: %w", s.id, errShardMap)
			}
			return m, nil
		}
		next = nextHashKey(s.rng.End)
	}
	return nil, fmt.Errorf("open shards end at %s, below 2^128-1: %w", m.open[len(m.open)-1].rng.End, errShardMap)
}

// nextHashKey returns h+1; the caller ensures h < MaxHashKey.
func nextHashKey(h aggregation.HashKey) aggregation.HashKey {
	lo := h.Lo + 1
	hi := h.Hi
	if lo == 0 {
		hi++
	}
	return aggregation.HashKey{Hi: hi, Lo: lo}
}

// find returns the index of the open shard whose range holds h.
func (m *shardMap) find(h aggregation.HashKey) int {
	i, _ := slices.BinarySearchFunc(m.open, h, func(s shardInfo, h aggregation.HashKey) int {
		if s.rng.End.Compare(h) < 0 {
			return -1
		}
		if s.rng.Start.Compare(h) > 0 {
			return 1
		}
		return 0
	})
	return i
}

// sameShards reports whether two maps have the same open shards.
func (m *shardMap) sameShards(o *shardMap) bool {
	return slices.EqualFunc(m.open, o.open, func(a, b shardInfo) bool {
		return a.id == b.id && a.rng == b.rng
	})
}
