// kplpeer.js drives aws-kinesis-agg, the KPL project's Node module, for the
// Go tests in internal/kpl (node_peer_test.go). It reads one JSON request on
// stdin and writes one JSON reply on stdout. aws-kinesis-agg must be on
// NODE_PATH.
//
//   {"mode": "deaggregate", "records": [{"partitionKey", "sequenceNumber", "data": base64}]}
//     -> [{"error", "userRecords": [...deaggregateSync output...],
//          "decoded": [{"hasExplicitHashKeyIndex", "tags": [{"key", "value", "hasValue"}]}]}]
//     Each record goes through deaggregateSync with computeChecksums = true.
//     "decoded" comes from the module's own protobuf model and adds what
//     deaggregateSync leaves out: tags, and whether a user record has an
//     explicit hash key index at all.
//
//   {"mode": "aggregate", "batches": [[{"partitionKey", "explicitHashKey", "data": base64}]]}
//     -> [{"partitionKey", "explicitHashKey", "data": base64}]
//     Each batch of records goes into one aggregated record through
//     RecordAggregator.
'use strict';

const agg = require('aws-kinesis-agg');
const common = require('aws-kinesis-agg/lib/common');

function deaggregate(records) {
  return records.map((r) => {
    const out = { error: null, userRecords: [], decoded: [] };
    agg.deaggregateSync(
      { partitionKey: r.partitionKey, sequenceNumber: r.sequenceNumber, data: r.data },
      true,
      (err, userRecords) => {
        if (err) {
          out.error = String(err && err.message ? err.message : err);
        } else {
          out.userRecords = userRecords;
        }
      });
    if (out.error === null) {
      const buf = Buffer.from(r.data, 'base64');
      if (buf.slice(0, 4).toString('hex') === common.magicNumber) {
        const msg = common.AggregatedRecord.decode(buf.slice(4, buf.length - 16));
        out.decoded = msg.records.map((rec) => ({
          hasExplicitHashKeyIndex: Object.prototype.hasOwnProperty.call(rec, 'explicit_hash_key_index'),
          tags: (rec.tags || []).map((t) => ({
            key: t.key,
            value: t.value,
            hasValue: Object.prototype.hasOwnProperty.call(t, 'value'),
          })),
        }));
      }
    }
    return out;
  });
}

function aggregate(records) {
  const ra = new agg.RecordAggregator();
  for (const r of records) {
    const rec = { partitionKey: r.partitionKey, data: Buffer.from(r.data, 'base64') };
    if (r.explicitHashKey) {
      rec.explicitHashKey = r.explicitHashKey;
    }
    ra.addUserRecord(rec);
  }
  const enc = ra.build();
  return {
    partitionKey: enc.partitionKey,
    explicitHashKey: enc.ExplicitHashKey || '',
    data: enc.data.toString('base64'),
  };
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const req = JSON.parse(input);
  let reply;
  if (req.mode === 'deaggregate') {
    reply = deaggregate(req.records);
  } else if (req.mode === 'aggregate') {
    reply = req.batches.map(aggregate);
  } else {
    throw new Error('unknown mode ' + req.mode);
  }
  process.stdout.write(JSON.stringify(reply));
});
