import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DroverProcess, DROVER_BIN } from '../../test/helpers/processes.js';
import { TestClients } from '../../test/helpers/grpc-clients.js';

const BENCH_WORKER = fileURLToPath(new URL('../worker.mjs', import.meta.url));

/** Where the leader keeps its task list in a benchmark: the store is a harness parameter. */
export type BenchStore = 'memory' | 'sqlite' | 'postgres';

/** The database the PostgreSQL store is measured on (each run in a schema of its own). */
export const BENCH_DATABASE_URL =
  process.env['DROVER_BENCH_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A leader and benchmark workers as real processes on loopback, torn down together. */
export class BenchCluster {
  private readonly processes: DroverProcess[] = [];
  private dataDir: string | undefined;
  private schema: string | undefined;
  leader!: DroverProcess;
  address = '';
  clients!: TestClients;

  /**
   * Starts the leader on an ephemeral port with the given extra flags and store (sqlite:
   * in a fresh data directory, removed on stop).
   */
  async startLeader(args: string[] = [], store: BenchStore = 'memory'): Promise<void> {
    const storeArgs = ['--store', store];
    if (store === 'sqlite') {
      this.dataDir = mkdtempSync(join(tmpdir(), 'drover-bench-data-'));
      storeArgs.push('--data-dir', this.dataDir);
    }
    if (store === 'postgres') {
      this.schema = `drover_bench_${randomBytes(5).toString('hex')}`;
      storeArgs.push('--database-url', BENCH_DATABASE_URL, '--database-schema', this.schema);
    }
    this.leader = this.track(
      'leader',
      spawn(
        process.execPath,
        [
          ...profileFlags(),
          // BENCH_LEADER_NODE_ARGS: Node's own flags for every leader (an A/B of a V8 setting).
          ...(process.env['BENCH_LEADER_NODE_ARGS'] ?? '').split(' ').filter(Boolean),
          DROVER_BIN,
          'leader',
          '--listen',
          '127.0.0.1:0',
          '--log-level',
          'warn',
          '--no-http',
          ...storeArgs,
          ...args,
          // BENCH_LEADER_ARGS: flags for every leader of the run (an A/B of one option).
          ...(process.env['BENCH_LEADER_ARGS'] ?? '').split(' ').filter(Boolean),
        ],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      ),
    );
    // At warn level the listening line is not logged; ask for it at info just for start-up.
    const line = await this.leader.waitForLine((l) => l.msg === 'leader listening', 15_000);
    this.address = (line['addresses'] as string[])[0]!;
    this.clients = new TestClients(this.address);
    // On PostgreSQL the leader serves once it holds the lease (at once, alone in its schema).
    if (store === 'postgres') {
      await this.leader.waitForLine((l) => l.msg === 'leader active: took over', 15_000);
    }
  }

  /** Starts a benchmark worker (empty handler) and waits until it joined. */
  /** Starts `count` workers, w1..wN, of `slots` slots each, all at once. */
  startWorkers(count: number, slots: number): Promise<DroverProcess[]> {
    return Promise.all(
      Array.from({ length: count }, (_, i) => this.startWorker(`w${i + 1}`, slots)),
    );
  }

  async startWorker(id: string, slots: number): Promise<DroverProcess> {
    const proc = this.track(
      id,
      spawn(process.execPath, [...profileFlags(), BENCH_WORKER, this.address, id, String(slots)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    await proc.waitForLine((l) => l.msg === 'worker joined', 15_000);
    return proc;
  }

  /** Starts another Node script of the harness (a load generator), torn down with the rest. */
  spawnNode(name: string, script: string, args: string[]): DroverProcess {
    return this.track(
      name,
      spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }),
    );
  }

  /** Stops every process (SIGTERM, then SIGKILL after 5 s) and waits for them. */
  async stop(): Promise<void> {
    this.clients?.close();
    for (const proc of this.processes) {
      proc.kill('SIGCONT');
      proc.kill('SIGTERM');
    }
    const timer = setTimeout(() => this.processes.forEach((p) => p.kill('SIGKILL')), 5000);
    await Promise.all(this.processes.map((p) => p.exited));
    clearTimeout(timer);
    if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
    if (this.schema) await dropSchema(this.schema);
  }

  private track(name: string, child: ReturnType<typeof spawn>): DroverProcess {
    const proc = new DroverProcess(name, child);
    this.processes.push(proc);
    return proc;
  }
}

/** BENCH_PROFILE_DIR=dir: the leader and workers write V8 CPU profiles there as they exit. */
function profileFlags(): string[] {
  const dir = process.env['BENCH_PROFILE_DIR'];
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: BENCH_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  } finally {
    await client.end();
  }
}
