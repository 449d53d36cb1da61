import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// A production install (`npm ci --omit=dev`, the Docker image) has only `dependencies`: a
// package src/ loads at run time but lists as a devDependency crashes the leader there
// (it happened: `pg`). Type-only imports are erased and need no package at run time.
const root = join(import.meta.dirname, '../../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};

/**
 * The web dashboard (src/dashboard) is browser code that esbuild bundles at build time into
 * dist/dashboard, packages included: preact is a build-time devDependency, like esbuild.
 */
const BUNDLED = join(root, 'src', 'dashboard');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (path === BUNDLED) return [];
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** The packages a file loads at run time (static and dynamic imports, not `import type`). */
function runtimePackages(text: string): string[] {
  const specifiers = [
    ...text.matchAll(/^\s*import\s+(?!type\s)[^'"]*?from\s+'([^']+)'/gm),
    ...text.matchAll(/^\s*import\s+'([^']+)'/gm),
    ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
    ...text.matchAll(/^\s*export\s+(?!type\s)[^'"]*?from\s+'([^']+)'/gm),
  ].map((m) => m[1]!);
  return specifiers
    .filter((s) => !s.startsWith('.') && !s.startsWith('node:') && !builtinModules.includes(s))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!));
}

describe('runtime dependencies', () => {
  it('lists every package src/ loads at run time under dependencies', () => {
    const missing = new Set<string>();
    for (const file of sourceFiles(join(root, 'src'))) {
      for (const name of runtimePackages(readFileSync(file, 'utf8'))) {
        if (!(name in pkg.dependencies)) missing.add(`${name} (${file.slice(root.length + 1)})`);
      }
    }
    expect([...missing]).toEqual([]);
  });

  it('finds the imports it checks (a guard that sees nothing proves nothing)', () => {
    expect(runtimePackages("import pg from 'pg';\nimport type { X } from 'y';")).toEqual(['pg']);
    expect(runtimePackages("const m = await import('@grpc/grpc-js/build/x');")).toEqual([
      '@grpc/grpc-js',
    ]);
  });
});
