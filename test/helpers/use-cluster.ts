import { afterEach, beforeEach } from 'vitest';
import { TestClients } from './grpc-clients.js';
import { Cluster } from './processes.js';

/**
 * Gives each test its own Cluster (fresh processes, ephemeral ports) and cleans it up;
 * logs of a failed test are written to test-logs/.
 */
export function useCluster(): {
  cluster: () => Cluster;
  clients: (address: string) => TestClients;
} {
  let cluster: Cluster | undefined;
  let failed: string | undefined;
  const opened: TestClients[] = [];
  beforeEach((ctx) => {
    cluster = new Cluster();
    failed = undefined;
    ctx.onTestFailed(() => {
      failed = ctx.task.name;
    });
  });
  afterEach(async () => {
    for (const c of opened.splice(0)) c.close();
    await cluster?.stop(failed);
  });
  return {
    cluster: () => cluster!,
    clients: (address) => {
      const c = new TestClients(address);
      opened.push(c);
      return c;
    },
  };
}
