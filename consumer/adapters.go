package consumer

import (
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// DeaggregateRecord reads a record returned by GetRecords or SubscribeToShard
// (aws-sdk-go-v2). Every user record gets the record's sequence number.
// Errors are those of Deaggregate.
func (d *Deaggregator) DeaggregateRecord(r types.Record) ([]UserRecord, error) {
	return d.AppendRecord(nil, r)
}

// AppendRecord is DeaggregateRecord appending to dst.
func (d *Deaggregator) AppendRecord(dst []UserRecord, r types.Record) ([]UserRecord, error) {
	return d.appendWithSequence(dst, r.Data, aws.ToString(r.PartitionKey), aws.ToString(r.SequenceNumber))
}

// DeaggregateLambdaRecord reads one record of a Lambda Kinesis event
// (aws-lambda-go). Every user record gets the record's sequence number.
// Errors are those of Deaggregate.
func (d *Deaggregator) DeaggregateLambdaRecord(r events.KinesisEventRecord) ([]UserRecord, error) {
	return d.AppendLambdaRecord(nil, r)
}

// AppendLambdaRecord is DeaggregateLambdaRecord appending to dst.
func (d *Deaggregator) AppendLambdaRecord(dst []UserRecord, r events.KinesisEventRecord) ([]UserRecord, error) {
	return d.appendWithSequence(dst, r.Kinesis.Data, r.Kinesis.PartitionKey, r.Kinesis.SequenceNumber)
}

// appendWithSequence deaggregates and stamps the new user records with the
// outer record's sequence number, also when a *ShardRangeError comes with them.
func (d *Deaggregator) appendWithSequence(dst []UserRecord, data []byte, pk, seq string) ([]UserRecord, error) {
	start := len(dst)
	dst, err := d.AppendDeaggregated(dst, data, pk)
	for i := start; i < len(dst); i++ {
		dst[i].SequenceNumber = seq
	}
	return dst, err
}
