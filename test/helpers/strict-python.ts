import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// The strict Python gRPC client (test/strict-clients/grpc_reflect.py) as tests run it: on
// Debian's python3-grpcio + python3-protobuf, sharing no code with drover.

const PYTHON = '/usr/bin/python3';
const PY_CLIENT = fileURLToPath(new URL('../strict-clients/grpc_reflect.py', import.meta.url));

/** Why the Python client cannot run here, or undefined when it can. CI installs it. */
function pythonMissing(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import grpc, google.protobuf'], { encoding: 'utf8' });
  if (probe.status === 0) return undefined;
  return `${PYTHON} lacks grpcio/protobuf (apt-get install python3-grpcio python3-protobuf)`;
}

/** Why the client is missing, if it is. */
export const pythonClientMissing = pythonMissing();

/** CI must run every client; elsewhere a missing Debian package skips with the reason. */
export const skipPython = pythonClientMissing !== undefined && process.env['CI'] === undefined;

/** One run of the client: its exit code and output. */
export interface PythonRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs grpc_reflect.py like grpcurl: [-d JSON] ADDRESS VERB [SYMBOL]. */
export function py(args: string[]): Promise<PythonRun> {
  return new Promise((resolve) => {
    execFile(PYTHON, [PY_CLIENT, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs it and parses what it printed as JSON; a failed call throws with its stderr. */
export async function pyJson(args: string[]): Promise<unknown> {
  const run = await py(args);
  if (run.code !== 0) throw new Error(`grpc_reflect.py ${args.join(' ')}: ${run.stderr}`);
  return JSON.parse(run.stdout) as unknown;
}
