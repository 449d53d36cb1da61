import { connect } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildHttpServer } from '../../../../src/leader/http/server.js';
import type { LeaderApi } from '../../../../src/leader/leader-api.js';

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

describe('HTTP body timeout', () => {
  it('closes a connection whose body stopped arriving, and lets a whole one through', async () => {
    // No route is reached by these requests: the coordinator is never called.
    app = await buildHttpServer(
      {} as LeaderApi,
      { leaders: () => Promise.resolve([]) },
      pino({ level: 'silent' }),
      { bodyLimitBytes: 1_000_000, bodyTimeoutMs: 200 },
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
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
});
