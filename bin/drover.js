#!/usr/bin/env node
// Entry point of the `drover` command; the code is compiled to dist/ by `npm run build`
// (run by `npm ci` through the prepare script).
import { existsSync } from 'node:fs';

// grpc-js gives the leader's host as the TLS server name even when it is an IP address,
// and Node then warns (DEP0123) on every TLS connection: noise for a user who typed
// --leader 10.0.0.1:50051, and nothing they could change. Only that warning is dropped.
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const code = typeof rest[0] === 'object' && rest[0] !== null ? rest[0].code : rest[1];
  if (code === 'DEP0123') return;
  return emitWarning.call(process, warning, ...rest);
};

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('drover: dist/ is missing; run `npm ci` (or `npm run build`) first\n');
  process.exit(2);
}
const { main } = await import(entry.href);
await main(process.argv);
