import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { defer, waitFor } from './wait-for.js';

/** The compiled CLI; integration tests run the real `drover` processes. */
export const DROVER_BIN = fileURLToPath(new URL('../../bin/drover.js', import.meta.url));

/** One parsed pino JSON log line. */
export type LogLine = Record<string, unknown> & { msg?: string };

/** A drover child process with its log lines kept for assertions and failure reports. */
export class DroverProcess {
  readonly lines: LogLine[] = [];
  readonly raw: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly watchers = new Set<(line: LogLine) => void>();

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    const onLine = (text: string): void => {
      this.raw.push(text);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        return;
      }
      this.lines.push(line);
      for (const watcher of this.watchers) watcher(line);
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', (text) =>
      this.raw.push(`[stderr] ${text}`),
    );
    this.exited = new Promise((resolve) => {
      // 'close', not 'exit': by then every line it wrote has been read.
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** True while the process has not exited. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first log line (past or future) that matches; bounded by timeoutMs. */
  waitForLine(match: (line: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    const found = defer<LogLine>();
    const watcher = (line: LogLine): void => {
      if (match(line)) found.resolve(line);
    };
    this.watchers.add(watcher);
    const timer = setTimeout(
      () => found.reject(new Error(`${this.name}: no matching log line within ${timeoutMs} ms`)),
      timeoutMs,
    );
    void this.exited.then(({ code, signal }) =>
      found.reject(
        new Error(`${this.name} exited (code ${code}, signal ${signal}) before the line`),
      ),
    );
    return found.promise.finally(() => {
      clearTimeout(timer);
      this.watchers.delete(watcher);
    });
  }

  /** Log lines with this message. */
  linesWith(msg: string): LogLine[] {
    return this.lines.filter((line) => line.msg === msg);
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }
}

/** Starts drover processes and cleans them all up; one per test. */
export class Cluster {
  private readonly processes: DroverProcess[] = [];
  private readonly dataDirs: string[] = [];

  /** A fresh data directory, removed when the cluster stops. */
  dataDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'drover-test-data-'));
    this.dataDirs.push(dir);
    return dir;
  }

  /**
   * Starts `drover leader` on an ephemeral loopback port; resolves with its address. It
   * gets a fresh data directory of its own unless `args` name one (or `--store memory`).
   */
  async startLeader(
    args: string[] = [],
    name = 'leader',
  ): Promise<{ process: DroverProcess; address: string; http: string }> {
    const storeArgs =
      args.includes('--data-dir') || args.includes('--store') ? [] : ['--data-dir', this.dataDir()];
    const proc = this.spawn(name, [
      'leader',
      '--listen',
      '127.0.0.1:0',
      ...FAST_TIMINGS,
      ...storeArgs,
      ...args,
    ]);
    const line = await proc.waitForLine((l) => l.msg === 'leader listening');
    const address = (line['addresses'] as string[])[0]!;
    const http = args.includes('--no-http')
      ? ''
      : String((await proc.waitForLine((l) => l.msg === 'http listening'))['address']);
    return { process: proc, address, http: http === '' ? '' : `http://${http}` };
  }

  /**
   * Starts `drover worker` and waits until it has joined; `prefix` runs it through another
   * command (`ip netns exec NS` puts it in a network namespace).
   */
  async startWorker(
    leader: string,
    id: string,
    args: string[] = [],
    prefix: string[] = [],
  ): Promise<DroverProcess> {
    const proc = this.spawnScript(
      id,
      DROVER_BIN,
      ['worker', '--leader', leader, '--id', id, ...args],
      prefix,
    );
    await proc.waitForLine((l) => l.msg === 'worker joined');
    return proc;
  }

  /** Starts any drover command. */
  spawn(name: string, args: string[]): DroverProcess {
    return this.spawnScript(name, DROVER_BIN, args);
  }

  /** Starts a Node script (a test fixture) the same way, logs and clean-up included. */
  spawnScript(name: string, script: string, args: string[], prefix: string[] = []): DroverProcess {
    const [command, ...commandArgs] = [...prefix, process.execPath, script, ...args];
    const child = spawn(command!, commandArgs, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        DROVER_LOG_LEVEL: 'debug',
        DROVER_LOG_FORMAT: 'json',
        // Every leader a test starts (also through `drover dev`) takes an ephemeral HTTP
        // port, so parallel tests never race for the default 8080.
        DROVER_HTTP_LISTEN: '127.0.0.1:0',
      },
    });
    const proc = new DroverProcess(name, child);
    this.processes.push(proc);
    return proc;
  }

  /** Kills everything still running; on failure writes every log to test-logs/. */
  async stop(failedTest?: string): Promise<void> {
    if (failedTest !== undefined) {
      const dir = fileURLToPath(
        new URL(`../../test-logs/${safeName(failedTest)}/`, import.meta.url),
      );
      mkdirSync(dir, { recursive: true });
      for (const proc of this.processes) {
        writeFileSync(`${dir}${safeName(proc.name)}-${proc.pid}.log`, proc.raw.join('\n'));
      }
      process.stderr.write(`logs of the failed test are in ${dir}\n`);
    }
    for (const proc of this.processes) {
      proc.kill('SIGCONT');
      proc.kill('SIGKILL');
    }
    await Promise.all(this.processes.map((p) => p.exited));
    for (const dir of this.dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Fast but realistic timings for tests: heartbeats every 100 ms, dead after 600 ms of
 * silence. Detection tests wait on events, not on these numbers.
 */
export const FAST_TIMINGS = [
  '--heartbeat-interval-ms',
  '100',
  '--suspect-after-ms',
  '300',
  '--dead-after-ms',
  '600',
  '--sweep-interval-ms',
  '20',
  '--shutdown-grace-ms',
  '1000',
];

function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
}

export { waitFor };
