package kinesistest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

// epochTime is a timestamp in the JSON protocol's form: seconds since the epoch, with a
// fraction for milliseconds.
type epochTime time.Time

// MarshalJSON writes the timestamp as epoch seconds with millisecond precision.
func (t epochTime) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', -1, 64), nil
}

// UnmarshalJSON reads epoch seconds, with or without a fraction.
func (t *epochTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("timestamp %s is not a number of seconds since the epoch", b)
	}
	sec := int64(f)
	*t = epochTime(time.Unix(sec, int64((f-float64(sec))*1e9)).Round(time.Millisecond))
	return nil
}

// blob is a base64 blob member of a request. It decodes the base64 straight from the JSON
// string when, as always from an SDK, the string holds no escapes: encoding/json would
// first unquote it rune by rune, the largest cost of a PutRecords request.
type blob []byte

// UnmarshalJSON reads a JSON string of standard base64, or null.
func (b *blob) UnmarshalJSON(raw []byte) error {
	if string(raw) == "null" {
		*b = nil
		return nil
	}
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' || bytes.IndexByte(raw, '\\') >= 0 {
		var v []byte
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		*b = v
		return nil
	}
	in := raw[1 : len(raw)-1]
	out := make([]byte, base64.StdEncoding.DecodedLen(len(in)))
	n, err := base64.StdEncoding.Decode(out, in)
	if err != nil {
		return fmt.Errorf("illegal base64 data: %w", err)
	}
	*b = out[:n]
	return nil
}

func newEpoch(t time.Time) *epochTime {
	e := epochTime(t)
	return &e
}

// Wire types of the responses, with the field names of the Kinesis API.
type (
	wireHashKeyRange struct {
		StartingHashKey string
		EndingHashKey   string
	}
	wireSequenceNumberRange struct {
		StartingSequenceNumber string
		EndingSequenceNumber   string `json:",omitempty"`
	}
	wireShard struct {
		ShardId               string
		ParentShardId         string `json:",omitempty"`
		AdjacentParentShardId string `json:",omitempty"`
		HashKeyRange          wireHashKeyRange
		SequenceNumberRange   wireSequenceNumberRange
	}
	wireStreamMode struct {
		StreamMode string
	}
	wireEnhancedMetrics struct {
		ShardLevelMetrics []string
	}
	wireChildShard struct {
		ShardId      string
		ParentShards []string
		HashKeyRange wireHashKeyRange
	}
	wireRecord struct {
		SequenceNumber              string
		ApproximateArrivalTimestamp *epochTime
		Data                        []byte
		PartitionKey                string
	}
)

func rangeWire(r aggregation.HashRange) wireHashKeyRange {
	return wireHashKeyRange{StartingHashKey: r.Start.String(), EndingHashKey: r.End.String()}
}

func shardWire(sh *shard) wireShard {
	w := wireShard{
		ShardId:               sh.id,
		ParentShardId:         sh.parent,
		AdjacentParentShardId: sh.adjacentParent,
		HashKeyRange:          rangeWire(sh.rng),
		SequenceNumberRange:   wireSequenceNumberRange{StartingSequenceNumber: formatSeq(sh.startSeq)},
	}
	if !sh.open {
		w.SequenceNumberRange.EndingSequenceNumber = formatSeq(sh.endSeq)
	}
	return w
}

// iteratorTTL is how long a shard iterator or a ListShards NextToken stays valid.
const iteratorTTL = 5 * time.Minute

// iterator is what a shard iterator encodes: where to read next, and when it was issued.
type iterator struct {
	gen    uint64
	stream string
	shard  string
	pos    uint64 // the next sequence number to read, or above
	issued time.Time
}

var errBadToken = errors.New("malformed token")

// encodeIterator writes an iterator as an opaque base64 string, like Kinesis's.
func encodeIterator(it iterator) string {
	raw := fmt.Sprintf("it1|%d|%s|%s|%d|%d", it.gen, it.stream, it.shard, it.pos, it.issued.UnixNano())
	return base64.StdEncoding.EncodeToString([]byte(raw))
}

func decodeIterator(s string) (iterator, error) {
	f, err := decodeToken(s, "it1", 6)
	if err != nil {
		return iterator{}, err
	}
	gen, err1 := strconv.ParseUint(f[1], 10, 64)
	pos, err2 := strconv.ParseUint(f[4], 10, 64)
	issued, err3 := strconv.ParseInt(f[5], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return iterator{}, errBadToken
	}
	return iterator{gen: gen, stream: f[2], shard: f[3], pos: pos, issued: time.Unix(0, issued)}, nil
}

// decodeToken splits a token written by encodeIterator or encodeShardsToken into n
// fields, the first of which must be kind.
func decodeToken(s, kind string, n int) ([]string, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errBadToken
	}
	f := strings.Split(string(raw), "|")
	if len(f) != n || f[0] != kind {
		return nil, errBadToken
	}
	return f, nil
}

// shardsToken is what a ListShards NextToken encodes: the stream, the filter, the last
// shard returned and when the token was issued.
type shardsToken struct {
	gen        uint64
	stream     string
	after      string // the last shard ID returned
	filterType string
	filterID   string
	filterTime int64 // Unix nanoseconds; 0 when none
	issued     time.Time
}

func encodeShardsToken(t shardsToken) string {
	raw := fmt.Sprintf("ls1|%d|%s|%s|%s|%s|%d|%d", t.gen, t.stream, t.after, t.filterType, t.filterID, t.filterTime, t.issued.UnixNano())
	return base64.StdEncoding.EncodeToString([]byte(raw))
}

func decodeShardsToken(s string) (shardsToken, error) {
	f, err := decodeToken(s, "ls1", 8)
	if err != nil {
		return shardsToken{}, err
	}
	gen, err1 := strconv.ParseUint(f[1], 10, 64)
	ft, err2 := strconv.ParseInt(f[6], 10, 64)
	issued, err3 := strconv.ParseInt(f[7], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return shardsToken{}, errBadToken
	}
	return shardsToken{gen: gen, stream: f[2], after: f[3], filterType: f[4], filterID: f[5], filterTime: ft, issued: time.Unix(0, issued)}, nil
}
