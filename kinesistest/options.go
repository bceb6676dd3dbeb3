package kinesistest

import (
	"time"
)

// Request size limits Kinesis has used for PutRecords (data plus partition keys of every
// entry), for [WithRequestSizeLimit].
const (
	// RequestSizeLimit10MiB is the PutRecords request limit of current AWS, the default.
	RequestSizeLimit10MiB = 10 << 20
	// RequestSizeLimit5MiB is the limit of older AWS documentation and of the emulators.
	RequestSizeLimit5MiB = 5 << 20
)

// Defaults of the server's settings.
const (
	// DefaultRegion is the region in stream ARNs unless [WithRegion] says otherwise.
	DefaultRegion = "us-east-1"
	// DefaultAccountID is the account in stream ARNs and error messages unless
	// [WithAccountID] says otherwise.
	DefaultAccountID = "123456789012"
	// DefaultMaxRecordSizeKiB is a new stream's record size limit (1 MiB), as on AWS,
	// unless the CreateStream request or [WithMaxRecordSizeKiB] sets another.
	DefaultMaxRecordSizeKiB = 1024
)

type config struct {
	region       string
	accountID    string
	requestLimit int
	now          func() time.Time
	capacity     *WriteCapacity
	logRequests  bool
	keepData     bool
}

func newConfig(opts []Option) config {
	c := config{
		region:       DefaultRegion,
		accountID:    DefaultAccountID,
		requestLimit: RequestSizeLimit10MiB,
		now:          time.Now,
		logRequests:  true,
		keepData:     true,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

// Option configures a [Server]. Options are applied in order; a later one wins.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithRegion sets the region that stream ARNs name. The default is [DefaultRegion].
// An empty region leaves the setting unchanged.
func WithRegion(region string) Option {
	return optionFunc(func(c *config) {
		if region != "" {
			c.region = region
		}
	})
}

// WithAccountID sets the AWS account that stream ARNs and error messages name. The
// default is [DefaultAccountID]. An empty ID leaves the setting unchanged.
func WithAccountID(id string) Option {
	return optionFunc(func(c *config) {
		if id != "" {
			c.accountID = id
		}
	})
}

// WithRequestSizeLimit sets the largest PutRecords request the server accepts, counting
// the data and the UTF-8 partition key of every entry, as Kinesis counts it. A larger
// request is refused with InvalidArgumentException "Records size exceeds 10 MB limit".
// The default is [RequestSizeLimit10MiB]; use [RequestSizeLimit5MiB] to behave like the
// emulators and older AWS documentation. Values below 1 leave the setting unchanged.
func WithRequestSizeLimit(bytes int) Option {
	return optionFunc(func(c *config) {
		if bytes > 0 {
			c.requestLimit = bytes
		}
	})
}

// WithClock sets the clock the server reads for arrival timestamps, shard iterator and
// NextToken expiry (5 minutes), shard open and close times, and the refill of write
// capacity (see [WithWriteCapacity]). The default is time.Now. A test that measures rate
// limiting deterministically passes a clock it advances by hand. A nil func leaves the
// setting unchanged.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.now = now
		}
	})
}

// WriteCapacity is the write throughput each shard allows when capacity is enforced
// (see [WithWriteCapacity]). Each shard has two token buckets, one for bytes and one for
// records, that start full and refill continuously at the per-second rates up to their
// burst size. An entry takes its data length plus its partition key's UTF-8 length from
// the byte bucket and one from the record bucket; an entry that does not fit is refused
// with ProvisionedThroughputExceededException and takes nothing. Zero fields take the
// defaults below.
type WriteCapacity struct {
	// BytesPerSecond is the byte refill rate. Default 1 MiB (1048576), Kinesis's limit.
	BytesPerSecond int
	// RecordsPerSecond is the record refill rate. Default 1000, Kinesis's limit.
	RecordsPerSecond int
	// BurstBytes is the byte bucket's size. Default: BytesPerSecond (one second).
	BurstBytes int
	// BurstRecords is the record bucket's size. Default: RecordsPerSecond (one second).
	BurstRecords int
}

func (c WriteCapacity) withDefaults() WriteCapacity {
	if c.BytesPerSecond <= 0 {
		c.BytesPerSecond = 1 << 20
	}
	if c.RecordsPerSecond <= 0 {
		c.RecordsPerSecond = 1000
	}
	if c.BurstBytes <= 0 {
		c.BurstBytes = c.BytesPerSecond
	}
	if c.BurstRecords <= 0 {
		c.BurstRecords = c.RecordsPerSecond
	}
	return c
}

// WithWriteCapacity enforces per-shard write capacity on PutRecord and PutRecords, so
// that a producer's rate limiting can be measured: entries beyond the capacity are
// refused with ProvisionedThroughputExceededException and counted in [Stats] and
// [Shard]. By default capacity is not enforced, like the emulators.
// WithWriteCapacity(WriteCapacity{}) enforces Kinesis's limits, 1 MiB/s and 1000
// records/s per shard with one second of burst.
func WithWriteCapacity(c WriteCapacity) Option {
	c = c.withDefaults()
	return optionFunc(func(cfg *config) { cfg.capacity = &c })
}

// WithRequestLog turns the log of requests read by [Server.Requests] on or off. It is on
// by default; a benchmark that sends many requests turns it off to save memory.
func WithRequestLog(enabled bool) Option {
	return optionFunc(func(c *config) { c.logRequests = enabled })
}

// WithRecordData controls whether the server keeps the records written to its shards. It
// does by default. With false, writes are validated, routed, counted and given sequence
// numbers as usual, but their data is dropped: GetRecords and [Stream.Records] return
// nothing. For benchmarks that write more than memory should hold.
func WithRecordData(keep bool) Option {
	return optionFunc(func(c *config) { c.keepData = keep })
}

type streamConfig struct {
	maxRecordKiB int
}

// StreamOption configures a stream created with [Server.CreateStream].
type StreamOption interface {
	applyStream(*streamConfig)
}

type streamOptionFunc func(*streamConfig)

func (f streamOptionFunc) applyStream(c *streamConfig) { f(c) }

// WithMaxRecordSizeKiB sets the stream's record size limit in KiB, reported as
// MaxRecordSizeInKiB by DescribeStreamSummary: a record whose data is larger is refused
// with ValidationException. Kinesis allows 1024 to 10240; the default is
// [DefaultMaxRecordSizeKiB]. [Server.CreateStream] refuses values outside that range.
func WithMaxRecordSizeKiB(kib int) StreamOption {
	return streamOptionFunc(func(c *streamConfig) { c.maxRecordKiB = kib })
}
