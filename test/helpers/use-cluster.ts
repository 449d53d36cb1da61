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
  const opened: TestClients[] = [];
  beforeEach(() => {
    cluster = new Cluster();
  });
  // The test's own state, not onTestFailed: Vitest calls those after the afterEach hooks,
  // when the logs are already gone.
  afterEach(async (ctx) => {
    for (const c of opened.splice(0)) c.close();
    await cluster?.stop(ctx.task.result?.state === 'fail' ? ctx.task.name : undefined);
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
