// How KubeClient reaches the API server: over HTTP/1.1 even where HTTP/2 is offered. No cluster
// needed: a local TLS server that speaks both protocols stands in for the API server.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { Agent, request } from 'undici';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../../src/kube/client.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';

const exec = promisify(execFile);

describe('KubeClient transport', function () {
  this.timeout(30_000);
  let dir: string;
  let cert: Buffer;
  let server: http2.Http2SecureServer;
  let url: string;
  const versions: string[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'planasonix-transport-'));
    await exec('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', path.join(dir, 'tls.key'), '-out', path.join(dir, 'tls.crt'),
    ]);
    cert = readFileSync(path.join(dir, 'tls.crt'));
    server = http2.createSecureServer({ key: readFileSync(path.join(dir, 'tls.key')), cert, allowHTTP1: true }, (req, res) => {
      versions.push(req.httpVersion);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    versions.length = 0;
  });

  function kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'local', server: url, caData: cert.toString('base64') }],
      users: [{ name: 'user', token: 'not-checked' }],
      contexts: [{ name: 'local', cluster: 'local', user: 'user' }],
      currentContext: 'local',
    });
    return kc;
  }

  it('speaks HTTP/1.1 to an API server that also offers HTTP/2', async () => {
    // The control: undici's own default negotiates HTTP/2 with this server.
    const agent = new Agent({ connect: { ca: cert } });
    await (await request(url, { dispatcher: agent })).body.dump();
    await agent.close();
    expect(versions).to.deep.equal(['2.0']);

    versions.length = 0;
    const client = new KubeClient(kubeConfig());
    const got = await Promise.all([1, 2, 3].map(() => client.get(RESOURCES.namespaces, undefined, 'default')));
    expect(got.map((ns) => ns.metadata?.name)).to.deep.equal(['default', 'default', 'default']);
    expect(versions).to.deep.equal(['1.1', '1.1', '1.1']);
  });

  it('keeps HTTP/1.1 for a client made from it with a token', async () => {
    await new KubeClient(kubeConfig()).withToken('another').get(RESOURCES.namespaces, undefined, 'default');
    expect(versions).to.deep.equal(['1.1']);
  });
});
