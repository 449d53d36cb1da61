import { fileURLToPath } from 'node:url';

/** The CLI entry point, for commands that start other drover processes. */
export const DROVER_BIN = fileURLToPath(new URL('../../bin/drover.js', import.meta.url));
