package consumer

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/plural"
)

// config is a Deaggregator's settings.
// The zero value is the defaults.
type config struct {
	reader     aggregation.Reader // the checksum and user record settings
	checkRange bool
	shard      shardRange
	err        error // the first invalid option
}

// Option configures a Deaggregator.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// setErr records the first invalid option.
func (c *config) setErr(err error) {
	if c.err == nil {
		c.err = err
	}
}

// WithChecksum sets whether the MD5 trailer of aggregated records is
// verified. Default: true. Kinesis already protects records in transit; the
// trailer guards against data that starts with the magic bytes by chance or
// was damaged before it was put. Turning it off saves the MD5 pass, the
// largest cost of reading an aggregated record.
func WithChecksum(verify bool) Option {
	return optionFunc(func(c *config) { c.reader.SkipChecksum = !verify })
}

// WithMaxUserRecords limits how many user records one aggregated record may
// hold; more gives an error wrapping ErrTooManyRecords. Default: 0, no limit
// other than what the input's size allows (each user record takes at least
// 6 bytes). n must not be negative.
func WithMaxUserRecords(n int) Option {
	return optionFunc(func(c *config) {
		if n < 0 {
			c.setErr(fmt.Errorf("consumer: WithMaxUserRecords(%d): must be 0 (no limit) or more", n))
			return
		}
		c.reader.MaxRecords = n
	})
}

// WithShardHashKeyRange applies the KCL's rule for aggregated records read
// from one shard, whose hash key range ListShards reports as start and end
// (decimal, both included): every user record must hash into that range,
// by its explicit hash key if it has one, else by the MD5 of its partition
// key. Deaggregate then reports those outside it in a *ShardRangeError.
// Default: no check. Records that were not aggregated are not checked: their
// explicit hash key, if any, is not visible to readers.
func WithShardHashKeyRange(start, end string) Option {
	return optionFunc(func(c *config) {
		r, err := aggregation.ParseHashRange(start, end)
		if err != nil {
			c.setErr(fmt.Errorf("consumer: WithShardHashKeyRange(%q, %q): %w", start, end, err))
			return
		}
		c.checkRange = true
		c.shard = shardRange{r: r, start: start, end: end}
	})
}

// WithShard is WithShardHashKeyRange with the range of a shard as ListShards
// or DescribeStream return it.
func WithShard(s types.Shard) Option {
	return optionFunc(func(c *config) {
		if s.HashKeyRange == nil || s.HashKeyRange.StartingHashKey == nil || s.HashKeyRange.EndingHashKey == nil {
			c.setErr(fmt.Errorf("consumer: WithShard(%q): shard has no hash key range", aws.ToString(s.ShardId)))
			return
		}
		WithShardHashKeyRange(*s.HashKeyRange.StartingHashKey, *s.HashKeyRange.EndingHashKey).apply(c)
	})
}

// shardRange is the hash key range WithShardHashKeyRange set.
type shardRange struct {
	r          aggregation.HashRange
	start, end string
}

// ShardRangeError reports user records of an aggregated record that hash
// outside the hash key range of the shard they were read from. Such records
// were aggregated by a producer that did not group user records by shard;
// the KCL drops the whole aggregated record when it finds one.
type ShardRangeError struct {
	// StartingHashKey and EndingHashKey are the shard's range, as given to
	// WithShardHashKeyRange.
	StartingHashKey, EndingHashKey string
	// Total is the number of user records in the aggregated record.
	Total int
	// Outside lists the user records outside the range, in order.
	Outside []OutsideRecord
}

// OutsideRecord is one user record outside its shard's hash key range.
type OutsideRecord struct {
	// SubSequenceNumber is the user record's position in its aggregated record.
	SubSequenceNumber uint64
	// PartitionKey and ExplicitHashKey are the user record's keys.
	PartitionKey, ExplicitHashKey string
	// HashKey is the hash key the record routes by, in decimal; "" if its
	// explicit hash key is invalid (then Err says why).
	HashKey string
	// Err is nil, or an error wrapping ErrHashKey for an explicit hash key
	// that is not a valid decimal hash key.
	Err error
}

// Error summarises the records outside the range, naming the first.
func (e *ShardRangeError) Error() string {
	o := e.Outside[0]
	why := "hash key " + o.HashKey
	if o.Err != nil {
		why = o.Err.Error()
	}
	return fmt.Sprintf("consumer: %d of %s outside the shard's range %s-%s; first: user record %d, partition key %q: %s",
		len(e.Outside), plural.Count(e.Total, "user record"), e.StartingHashKey, e.EndingHashKey, o.SubSequenceNumber, o.PartitionKey, why)
}

// check applies the KCL rule to the user records of one aggregated record.
func (s *shardRange) check(recs []UserRecord) error {
	var outside []OutsideRecord
	var (
		lastPK   string
		lastHash aggregation.HashKey
		haveLast bool
	)
	for _, u := range recs {
		var h aggregation.HashKey
		var herr error
		switch {
		case u.ExplicitHashKey != "":
			var err error
			if h, err = aggregation.ParseHashKey(u.ExplicitHashKey); err != nil {
				herr = fmt.Errorf("explicit hash key: %w: %w", ErrHashKey, err)
			}
		case haveLast && u.PartitionKey == lastPK:
			h = lastHash // keys repeat in runs; skip the MD5
		default:
			h = aggregation.HashPartitionKey(u.PartitionKey)
			lastPK, lastHash, haveLast = u.PartitionKey, h, true
		}
		if herr == nil && s.r.Contains(h) {
			continue
		}
		o := OutsideRecord{SubSequenceNumber: u.SubSequenceNumber, PartitionKey: u.PartitionKey,
			ExplicitHashKey: u.ExplicitHashKey, Err: herr}
		if herr == nil {
			o.HashKey = h.String()
		}
		outside = append(outside, o)
	}
	if outside == nil {
		return nil
	}
	return &ShardRangeError{StartingHashKey: s.start, EndingHashKey: s.end, Total: len(recs), Outside: outside}
}
