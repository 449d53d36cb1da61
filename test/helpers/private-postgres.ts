import { execFile } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Debian's PostgreSQL server binaries (the postgresql package every machine here has). */
const BIN = process.env['DROVER_TEST_PG_BIN'] ?? '/usr/lib/postgresql/15/bin';

/**
 * A PostgreSQL server of the test's own, in a temporary directory on a free loopback port,
 * so a test may stop and restart it without touching the shared one on 5432. The server
 * runs as the `postgres` OS user (it refuses root); the directory is removed on destroy.
 */
export class PrivatePostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly listen: string,
    private readonly tls: boolean,
  ) {}

  /** Connection URL of its `postgres` database (trust auth), on `host`. */
  url(host = '127.0.0.1'): string {
    return `postgres://postgres@${host}:${this.port}/postgres`;
  }

  /**
   * initdb in a fresh directory, then start; resolves once it accepts connections. It
   * listens on loopback and on `network.listen` too, trusting clients from `network.trust`
   * (a CIDR), for tests that reach it from a network namespace. With `tls` (PEM files of a
   * certificate and its key) it serves TLS (ssl = on) beside plaintext.
   */
  static async create(
    network?: { listen: string; trust: string },
    tls?: { certFile: string; keyFile: string },
  ): Promise<PrivatePostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'drover-pg-'));
    const owner = userInfo().uid === 0 ? await postgresUser() : undefined;
    if (owner) chownSync(dir, owner.uid, owner.gid);
    const listen = ['127.0.0.1', ...(network ? [network.listen] : [])].join(',');
    const server = new PrivatePostgres(dir, await freePort(), listen, tls !== undefined);
    await server.asPostgres(`${BIN}/initdb`, [
      '-D',
      join(dir, 'data'),
      '-A',
      'trust',
      '-U',
      'postgres',
      '--no-sync',
    ]);
    if (network) {
      appendFileSync(join(dir, 'data', 'pg_hba.conf'), `host all all ${network.trust} trust\n`);
    }
    if (tls) {
      // The server refuses a key others may read, and must own both files.
      for (const [from, to] of [
        [tls.certFile, 'server.crt'],
        [tls.keyFile, 'server.key'],
      ] as const) {
        const path = join(dir, 'data', to);
        copyFileSync(from, path);
        chmodSync(path, 0o600);
        if (owner) chownSync(path, owner.uid, owner.gid);
      }
    }
    await server.start();
    return server;
  }

  /** Starts the server and waits until it accepts connections. */
  async start(): Promise<void> {
    await this.asPostgres(`${BIN}/pg_ctl`, [
      '-D',
      join(this.dir, 'data'),
      '-l',
      join(this.dir, 'server.log'),
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=${this.listen} -c fsync=off` +
        (this.tls ? ' -c ssl=on' : ''),
      '-w',
      '-t',
      '30',
      'start',
    ]);
  }

  /** Stops it (fast: open sessions are cut, as in a crash or failover of the database). */
  async stop(): Promise<void> {
    await this.asPostgres(`${BIN}/pg_ctl`, [
      '-D',
      join(this.dir, 'data'),
      '-m',
      'fast',
      '-w',
      'stop',
    ]);
  }

  /** Stops the server if running and removes its directory. */
  async destroy(): Promise<void> {
    await this.stop().catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async asPostgres(command: string, args: string[]): Promise<void> {
    const asRoot = userInfo().uid === 0;
    await run(
      asRoot ? 'runuser' : command,
      asRoot ? ['-u', 'postgres', '--', command, ...args] : args,
      {
        timeout: 60_000,
      },
    );
  }
}

/** The `postgres` OS user's ids, who must own a server's files when tests run as root. */
async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

/** A loopback TCP port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
