// Preloaded into a flts process (NODE_OPTIONS=--import <this file>): SIGKILLs it as soon as the S3 server has
// acknowledged a PUT whose path matches KILL_AFTER_PUT_PATH and whose body matches KILL_AFTER_PUT_BODY (both regular
// expressions; the body one optional). A crash at the instant after a durable write, before anything the process does
// next (publish, commit), which a signal sent from outside cannot hit.
import http from 'node:http';

const pathPattern = new RegExp(process.env.KILL_AFTER_PUT_PATH ?? '(?!)');
const bodyPattern = new RegExp(process.env.KILL_AFTER_PUT_BODY ?? '');
const original = http.request;

http.request = function request(...args) {
  const req = original.apply(this, args);
  const options = typeof args[0] === 'object' && !(args[0] instanceof URL) ? args[0] : {};
  if (String(options.method ?? '').toUpperCase() !== 'PUT' || !pathPattern.test(String(options.path ?? ''))) return req;
  const chunks = [];
  const keep = (chunk, encoding) => {
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') chunks.push(Buffer.from(chunk, typeof encoding === 'string' ? encoding : undefined));
  };
  const write = req.write;
  req.write = function (chunk, encoding, ...rest) {
    keep(chunk, encoding);
    return write.call(this, chunk, encoding, ...rest);
  };
  const end = req.end;
  req.end = function (chunk, encoding, ...rest) {
    keep(chunk, encoding);
    return end.call(this, chunk, encoding, ...rest);
  };
  req.once('response', (response) => {
    if (response.statusCode < 300 && bodyPattern.test(Buffer.concat(chunks).toString('utf8'))) process.kill(process.pid, 'SIGKILL');
  });
  return req;
};
