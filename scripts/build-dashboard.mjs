// Bundles the web dashboard (src/dashboard, Preact) into static files the leader serves
// from dist/dashboard: nothing is fetched from a CDN at run time. Run by `npm run build`.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/dashboard`;
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: `${root}src/dashboard/main.tsx` },
  outdir: out,
  bundle: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  minify: true,
  sourcemap: true,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'linked',
  logLevel: 'warning',
});
copyFileSync(`${root}src/dashboard/index.html`, `${out}/index.html`);
copyFileSync(`${root}src/dashboard/app.css`, `${out}/app.css`);
