// Preloaded with `node -r` into kinesis-local: every server it opens listens on 127.0.0.1
// instead of every interface. Once the plain-HTTP server (port KINESIS_MOCK_PLAIN_PORT) is
// listening, its port is written to the file named by PORT_FILE.
'use strict';
const fs = require('fs');
const net = require('net');

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (args.length > 0 && typeof args[0] === 'object' && args[0] !== null && !Array.isArray(args[0])) {
    args[0] = Object.assign({}, args[0], { host: '127.0.0.1' });
  } else if (typeof args[0] === 'number' || typeof args[0] === 'string') {
    const port = args[0];
    const cb = args.find((a) => typeof a === 'function');
    args = [port, '127.0.0.1'];
    if (cb) args.push(cb);
  }
  this.once('listening', () => {
    const addr = this.address();
    console.error(`loopback-only: listening on ${addr.address}:${addr.port}`);
    if (process.env.PORT_FILE && String(addr.port) === process.env.KINESIS_MOCK_PLAIN_PORT) {
      fs.writeFileSync(process.env.PORT_FILE, String(addr.port));
    }
  });
  return listen.apply(this, args);
};
