package kpl

import "time"

// tokenBucket is a token bucket refilled continuously at rate tokens per
// second up to burst tokens. It starts full. It is not safe for concurrent
// use; the producer guards its buckets with its lock.
type tokenBucket struct {
	rate   float64 // tokens per second
	burst  float64 // most tokens held
	tokens float64 // may go negative after a take larger than burst
	last   time.Time
}

func newTokenBucket(rate, burst float64, now time.Time) tokenBucket {
	return tokenBucket{rate: rate, burst: burst, tokens: burst, last: now}
}

// refill adds the tokens earned since the last call.
func (b *tokenBucket) refill(now time.Time) {
	if now.After(b.last) {
		b.tokens += b.rate * now.Sub(b.last).Seconds()
		if b.tokens > b.burst {
			b.tokens = b.burst
		}
		b.last = now
	}
}

// need returns how many tokens must be held before n can be taken: n, or the
// whole burst for an n larger than the burst (which then leaves the bucket in
// debt, so the average rate still holds).
func (b *tokenBucket) need(n float64) float64 {
	return min(n, b.burst)
}

// wait returns how long until n tokens can be taken; 0 if they can now.
func (b *tokenBucket) wait(n float64, now time.Time) time.Duration {
	b.refill(now)
	short := b.need(n) - b.tokens
	if short <= 0 {
		return 0
	}
	d := time.Duration(short / b.rate * float64(time.Second))
	if d < time.Millisecond {
		d = time.Millisecond // never spin on rounding
	}
	return d
}

// take removes n tokens; the caller checked wait first.
func (b *tokenBucket) take(n float64) { b.tokens -= n }

// refund gives back n tokens taken for something Kinesis refused without
// spending capacity on it.
func (b *tokenBucket) refund(n float64) { b.tokens = min(b.tokens+n, b.burst) }

// drain empties the bucket, as after the shard throttled us: the next
// records wait for a refill.
func (b *tokenBucket) drain(now time.Time) {
	b.refill(now)
	if b.tokens > 0 {
		b.tokens = 0
	}
}

// shardLimiter is the pair of buckets guarding one shard's write capacity:
// records per second and bytes per second, scaled by Config.RateLimit, with
// one second of burst.
type shardLimiter struct {
	records tokenBucket
	bytes   tokenBucket
}

func newShardLimiter(percent int, now time.Time) *shardLimiter {
	f := float64(percent) / 100
	r := ShardRecordsPerSecond * f
	by := ShardBytesPerSecond * f
	return &shardLimiter{
		records: newTokenBucket(r, r, now),
		bytes:   newTokenBucket(by, by, now),
	}
}

// wait returns how long until one record of size bytes may be sent.
func (l *shardLimiter) wait(size int, now time.Time) time.Duration {
	return max(l.records.wait(1, now), l.bytes.wait(float64(size), now))
}

// take accounts for one record of size bytes sent.
func (l *shardLimiter) take(size int) {
	l.records.take(1)
	l.bytes.take(float64(size))
}

// refund gives back what take took for a record Kinesis refused for another
// reason than throughput (an error, a failed request).
func (l *shardLimiter) refund(size int) {
	l.records.refund(1)
	l.bytes.refund(float64(size))
}

// throttled drains both buckets after the shard refused a record for
// exceeding its throughput: other writers share the shard.
func (l *shardLimiter) throttled(now time.Time) {
	l.records.drain(now)
	l.bytes.drain(now)
}
