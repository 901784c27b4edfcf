// Runs the published @blocklet/payment-js client, unmodified, through a scenario and prints one
// JSON document on stdout. Driven by tests/compat/test_payment_js.py.
//
//   node client.mjs INSTALL_DIR < scenario.json
//
// INSTALL_DIR holds the node_modules made by `npm ci` from package-lock.json beside this file (it
// lives in a cache outside the repository, so the client is loaded through createRequire).
//
// The environment is whatever the caller gives: the client reads BLOCKLET_MOUNT_POINTS,
// BLOCKLET_APP_SK and BLOCKLET_MODE (and PAYMENT_LIVEMODE, ...) when it is loaded, which happens
// below, after nothing but console redirection.
//
// Scenario: {"livemode": true|false|null, "calls": [{"label": "...", "call": "customers.list",
// "args": [...]}, ...]}. `livemode` other than null is applied with the client's own
// `environments.setLivemode` before the calls; null leaves the client's choice alone.
//
// Output: {"initialLivemode": bool, "livemode": bool, "results": {LABEL: RESULT}} where RESULT is
// {"ok": true, "value": ..., "wire": WIRE} or {"ok": false, "status": N|null, "data": ...,
// "message": "...", "wire": WIRE|null}; WIRE is what went over the socket: {"method", "path",
// "body" (the text sent or null), "headers" (the x-component-* ones)}. Recording uses a response
// interceptor that only reads; it never changes a request.

import { createRequire } from 'node:module';
import path from 'node:path';
import { readFileSync } from 'node:fs';

// The SDK's logger writes with console.info/console.error; keep stdout for the one result.
for (const name of ['log', 'info', 'debug', 'warn']) {
  console[name] = (...args) => console.error(...args);
}

const installDir = process.argv[2];
if (!installDir) {
  process.stderr.write('usage: node client.mjs INSTALL_DIR < scenario.json\n');
  process.exit(2);
}
const scenario = JSON.parse(readFileSync(0, 'utf8'));

const rootRequire = createRequire(path.join(path.resolve(installDir), 'package.json'));
const clientPath = rootRequire.resolve('@blocklet/payment-js');
const payment = rootRequire(clientPath).default;
// The axios instance the client sends through (the same module instance the client loaded).
const clientRequire = createRequire(clientPath);
const componentApi = clientRequire('@blocklet/sdk/lib/util/component-api').default;

function wireOf(request, config) {
  if (!request || !config) return null;
  const headers = {};
  for (const [key, value] of Object.entries(config.headers?.toJSON?.() ?? config.headers ?? {})) {
    const lower = key.toLowerCase();
    if (lower.startsWith('x-component-') || lower === 'content-type') headers[lower] = String(value);
  }
  return {
    method: request.method ?? null,
    path: request.path ?? null,
    body: typeof config.data === 'string' ? config.data : config.data == null ? null : String(config.data),
    headers,
  };
}

let lastWire = null;
componentApi.interceptors.response.use(
  (response) => {
    lastWire = wireOf(response.request, response.config);
    return response;
  },
  (error) => {
    lastWire = wireOf(error.request, error.config);
    return Promise.reject(error);
  },
);

function resolveMethod(dotted) {
  const parts = dotted.split('.');
  let owner = payment;
  for (const part of parts.slice(0, -1)) owner = owner?.[part];
  const fn = owner?.[parts[parts.length - 1]];
  if (typeof fn !== 'function') throw new Error(`no such client method: ${dotted}`);
  return fn.bind(owner);
}

const out = { initialLivemode: payment.environments.getLivemode(), results: {} };
if (scenario.livemode !== null && scenario.livemode !== undefined) {
  payment.environments.setLivemode(Boolean(scenario.livemode));
}
out.livemode = payment.environments.getLivemode();

for (const step of scenario.calls) {
  lastWire = null;
  try {
    const value = await resolveMethod(step.call)(...(step.args ?? []));
    out.results[step.label] = { ok: true, value, wire: lastWire };
  } catch (error) {
    out.results[step.label] = {
      ok: false,
      status: error?.response?.status ?? null,
      data: error?.response?.data ?? null,
      message: String(error?.message ?? error),
      wire: lastWire,
    };
  }
}

process.stdout.write(`${JSON.stringify(out)}\n`);
// The SDK may leave timers or sockets behind; the result is out, so finish now.
process.exit(0);
