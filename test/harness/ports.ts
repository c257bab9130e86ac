// Free loopback ports for the processes the tests and the bench start. Ports asked for together are
// held open until all are known: asked one after another, the OS may hand the same port out twice
// (a bench run once gave a receiver its webhook port again as its health port, and it refused to
// start).
import { createServer, type AddressInfo, type Server } from 'node:net';

/** A tuple of N numbers, so that `const [a, b] = await freePorts(2)` gives two numbers. */
type Ports<N extends number, Acc extends number[] = []> = Acc['length'] extends N ? Acc : Ports<N, [...Acc, number]>;

/** `count` distinct TCP ports on 127.0.0.1 that were free a moment ago (the OS picked them). */
export async function freePorts<N extends number>(count: N): Promise<Ports<N>> {
  const servers = await Promise.all(Array.from({ length: count }, listenOnAnyPort));
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports as Ports<N>;
}

function listenOnAnyPort(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}
