// A webhook receiver that checks each delivery with the real `verifySig` middleware of
// @blocklet/sdk (the one Payment Kit consumers mount), unmodified. Driven by
// tests/compat/test_webhook_signatures.py.
//
//   BLOCKLET_APP_SK=0x... node receiver.mjs INSTALL_DIR
//
// It listens on a free port of 127.0.0.1 and prints {"port": N} as its first stdout line, then
// one line per request: {"path", "verified", "status", "webhook_id", "body", "headers"} (the
// x-component-* and webhook-* ones). verifySig is given
// what Express would give it: `req.get(name)`, the parsed JSON `body`, `method`, `originalUrl`
// (the request target as sent) and `query` (qs-parsed, Express's "extended" query parser).
// A verified request is answered 200, anything else with verifySig's own 400/401.

import { createRequire } from 'node:module';
import http from 'node:http';
import path from 'node:path';

for (const name of ['log', 'info', 'debug', 'warn']) {
  console[name] = (...args) => console.error(...args);
}

const installDir = process.argv[2];
const rootRequire = createRequire(path.join(path.resolve(installDir), 'package.json'));
const sdkRequire = createRequire(rootRequire.resolve('@blocklet/payment-js'));
const { verifySig } = sdkRequire('@blocklet/sdk/lib/middlewares/component');
const qs = createRequire(sdkRequire.resolve('@blocklet/sdk/lib/middlewares/component'))('qs');

function emit(record) {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    const text = Buffer.concat(chunks).toString('utf8');
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      body = {};
    }
    const search = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
    const shim = {
      get: (name) => req.headers[name.toLowerCase()],
      body,
      method: req.method,
      originalUrl: req.url,
      url: req.url,
      query: qs.parse(search),
      headers: req.headers,
    };
    let answered = false;
    const finish = (status, payload) => {
      if (answered) return;
      answered = true;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
      emit({
        path: req.url,
        verified: status === 200,
        status,
        webhook_id: req.headers['webhook-id'] ?? null,
        body: text,
        headers: Object.fromEntries(
          Object.entries(req.headers).filter(([k]) => k.startsWith('x-component-') || k.startsWith('webhook-')),
        ),
      });
    };
    const response = {
      status: (code) => ({ json: (payload) => finish(code, payload) }),
    };
    try {
      await verifySig(shim, response, () => finish(200, { ok: true }));
    } catch (error) {
      finish(500, { error: String(error) });
    }
  });
});

server.listen(0, '127.0.0.1', () => emit({ port: server.address().port }));
