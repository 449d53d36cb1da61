import { fileURLToPath } from 'node:url';

/**
 * The `proto/` folder shipped with the package. Both `src/shared` (under vitest) and
 * `dist/shared` (compiled) sit two levels below the package root.
 */
export const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

/** The CLI entry point, for commands that start other drover processes. */
export const DROVER_BIN = fileURLToPath(new URL('../../bin/drover.js', import.meta.url));
