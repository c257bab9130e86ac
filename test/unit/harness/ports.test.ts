// The ports the harness and the bench hand to the processes they start: one call's ports are distinct
// and each can be bound once the call returns.
import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { freePorts } from '../../harness/ports.ts';

describe('freePorts', () => {
  it('hands out distinct ports in one call, each free to bind afterwards', async () => {
    const ports = await freePorts(64);
    expect(new Set(ports).size).to.equal(64);
    const servers: Server[] = [];
    try {
      for (const port of ports) {
        const server = createServer();
        servers.push(server);
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, '127.0.0.1', resolve);
        });
      }
    } finally {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    }
  });
});
