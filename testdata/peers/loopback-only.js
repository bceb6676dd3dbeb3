// Preloaded with `node -r` into kinesis-local: every server it opens listens on 127.0.0.1
// instead of every interface. Once the plain-HTTP server (port KINESIS_MOCK_PLAIN_PORT) is
// listening, its port is written to the file named by PORT_FILE.
//
// It also keeps kinesis-local alive when a client aborts a request. kinesis-local's server
// (fs2 on Node) reads each accepted socket's addresses a moment after 'connection', and when
// the client has reset the connection by then, getpeername fails, the address is undefined
// and the whole accept stream fails: the plain port stops listening while the process runs
// on. So each socket's addresses are read at once, where Node caches them, and pinned on the
// socket; a socket already reset before that is destroyed and never handed to the server.
'use strict';
const fs = require('fs');
const net = require('net');

const addressProps = ['remoteAddress', 'remotePort', 'remoteFamily', 'localAddress', 'localPort', 'localFamily'];

// pinAddresses fixes the socket's address properties at their current values, and reports
// false when the connection is already gone (no peer address to read).
function pinAddresses(socket) {
  const values = {};
  for (const p of addressProps) values[p] = socket[p];
  if (values.remoteAddress === undefined || values.remotePort === undefined ||
      values.localAddress === undefined || values.localPort === undefined) {
    return false;
  }
  for (const p of addressProps) {
    Object.defineProperty(socket, p, { value: values[p], enumerable: true, configurable: true });
  }
  return true;
}

function guardConnections(server) {
  if (server.__loopbackGuarded) return;
  server.__loopbackGuarded = true;
  const emit = server.emit;
  server.emit = function (event, socket, ...rest) {
    if (event === 'connection' && socket instanceof net.Socket) {
      socket.on('error', () => {});
      if (!pinAddresses(socket)) {
        socket.destroy();
        return false;
      }
    }
    return emit.call(this, event, socket, ...rest);
  };
}

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
  guardConnections(this);
  this.once('listening', () => {
    const addr = this.address();
    console.error(`loopback-only: listening on ${addr.address}:${addr.port}`);
    if (process.env.PORT_FILE && String(addr.port) === process.env.KINESIS_MOCK_PLAIN_PORT) {
      fs.writeFileSync(process.env.PORT_FILE, String(addr.port));
    }
  });
  return listen.apply(this, args);
};
