import { connect } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildHttpServer } from '../../../../src/leader/http/server.js';
import type { LeaderApi } from '../../../../src/leader/leader-api.js';
import { waitFor } from '../../../helpers/wait-for.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** Sends `text` on a new connection and resolves with what came back once it closed. */
function sendAndWaitForClose(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.on('data', (chunk) => (answer += String(chunk)));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

/**
 * Serves the HTTP API on a loopback port with these bounds; resolves with the port. No
 * route these tests reach calls the coordinator, so none is given.
 */
async function listening(options: Parameters<typeof buildHttpServer>[3]): Promise<number> {
  app = await buildHttpServer(
    {} as LeaderApi,
    { leaders: () => Promise.resolve([]) },
    pino({ level: 'silent' }),
    options,
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as { port: number }).port;
}

describe('HTTP body timeout', () => {
  it('closes a connection whose body stopped arriving, and lets a whole one through', async () => {
    const port = await listening({ bodyLimitBytes: 1_000_000, bodyTimeoutMs: 200 });
    const head = 'POST /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n';
    // Bounded by the test's timeout: without the bound the connection stays open for ever.
    const cut = await sendAndWaitForClose(port, `${head}Content-Length: 100\r\n\r\n{"payload":`);
    expect(cut).toBe('');
    // A whole body is read and answered (refused here: payload must be a string), and the
    // bound is lifted for the answer.
    const whole = await sendAndWaitForClose(
      port,
      `${head}Content-Length: 13\r\nConnection: close\r\n\r\n{"payload":1}`,
    );
    expect(whole).toMatch(/^HTTP\/1\.1 400 [\s\S]*must be string/);
  });

  it('closes a connection whose body trickles in for longer than the whole-body deadline', async () => {
    const port = await listening({
      bodyLimitBytes: 1_000_000,
      bodyTimeoutMs: 5_000,
      bodyDeadlineMs: 300,
    });
    const startedMs = Date.now();
    const closed = await new Promise<number>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write('POST /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n');
        socket.write('Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{');
      });
      // A space every 50 ms: never silent for the 5 s silence bound. Bounded: 200 at most.
      let sent = 0;
      const trickle = setInterval(() => {
        if (sent++ < 200 && socket.writable) socket.write(' ');
      }, 50);
      socket.on('close', () => {
        clearInterval(trickle);
        resolve(sent);
      });
      socket.on('error', () => {});
      socket.on('timeout', reject);
    });
    // Cut by the deadline (300 ms), long before the trickle or the silence bound would end.
    expect(closed).toBeLessThan(100);
    expect(Date.now() - startedMs).toBeLessThan(5_000);
  });

  it('lifts the deadline once a request is read: a GET with Content-Length: 0 lives on', async () => {
    const port = await listening({
      bodyLimitBytes: 1_000_000,
      bodyTimeoutMs: 5_000,
      bodyDeadlineMs: 100,
    });
    const socket = connect(port, '127.0.0.1');
    let answers = '';
    let closed = false;
    socket.on('data', (chunk) => (answers += String(chunk)));
    socket.on('close', () => (closed = true));
    const get = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n';
    socket.write(get);
    await waitFor(() => answers.includes('200 OK'), { timeoutMs: 5_000, what: 'the answer' });
    // Three deadlines later the kept-alive connection still serves.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(closed).toBe(false);
    socket.write(get);
    await waitFor(() => answers.split('200 OK').length === 3, {
      timeoutMs: 5_000,
      what: 'the second answer',
    });
    socket.destroy();
  });
});
