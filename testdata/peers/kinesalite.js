// Starts kinesalite on 127.0.0.1 only, on a free port (or PORT), and writes the port to the
// file named by PORT_FILE once it accepts connections. Aborted client requests are ignored
// instead of crashing the process.
'use strict';
const fs = require('fs');
const kinesalite = require('kinesalite');

const ignorable = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);
function ignorableError(err) {
  return err && (ignorable.has(err.code) || /aborted/i.test(String(err.message)));
}
process.on('uncaughtException', (err) => {
  if (ignorableError(err)) return;
  console.error('kinesalite: fatal:', err);
  process.exit(1);
});

const server = kinesalite({
  createStreamMs: Number(process.env.CREATE_STREAM_MS || 0),
  deleteStreamMs: Number(process.env.DELETE_STREAM_MS || 0),
  updateStreamMs: Number(process.env.UPDATE_STREAM_MS || 0),
  shardLimit: Number(process.env.SHARD_LIMIT || 1000),
});
server.on('clientError', (err, socket) => { socket.destroy(); });
server.on('connection', (socket) => socket.on('error', () => {}));
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  const port = server.address().port;
  if (process.env.PORT_FILE) fs.writeFileSync(process.env.PORT_FILE, String(port));
  console.log(`kinesalite listening on http://127.0.0.1:${port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
