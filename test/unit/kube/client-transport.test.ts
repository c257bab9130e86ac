// How KubeClient reaches the API server: over HTTP/1.1 even where HTTP/2 is offered, and, in the
// CLI's processes, without loading the client library's generated API clients. No cluster needed:
// a local TLS server that speaks both protocols stands in for the API server.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { repoRoot } from '../../harness/control-plane.ts';

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

  describe('in the CLI, with loadCredentialsOnly()', () => {
    // A child process, as the CLI is: it records every module it loads, then uses the client.
    async function loadClient(credentialsOnly: boolean): Promise<{ generatedModels: number; namespace: string }> {
      const kubeconfigFile = path.join(dir, 'kubeconfig.yaml');
      writeFileSync(kubeconfigFile, kubeConfig().exportConfig());
      const script = `
        import { registerHooks } from 'node:module';
        const { loadCredentialsOnly } = await import(${JSON.stringify(path.join(repoRoot, 'src/kube/credentials-only.ts'))});
        if (${credentialsOnly}) loadCredentialsOnly();
        const loaded = [];
        registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); loaded.push(r.url); return r; } });
        const { KubeClient } = await import(${JSON.stringify(path.join(repoRoot, 'src/kube/client.ts'))});
        const ns = await KubeClient.fromDefault({ kubeconfig: ${JSON.stringify(kubeconfigFile)} }).get({ group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false }, undefined, 'default');
        process.stdout.write(JSON.stringify({ generatedModels: loaded.filter((u) => u.includes('/client-node/dist/gen/models/')).length, namespace: ns.metadata.name }));
      `;
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.once('close', (code) => (code === 0 ? resolve(JSON.parse(out) as { generatedModels: number; namespace: string }) : reject(new Error(`exit ${code}: ${err}`))));
      });
    }

    it('loads credentials from a kubeconfig and calls the API server without loading the generated API models', async () => {
      const full = await loadClient(false);
      expect(full.generatedModels, 'without the hook the library loads its models').to.be.greaterThan(100);
      const trimmed = await loadClient(true);
      expect(trimmed).to.deep.equal({ generatedModels: 0, namespace: 'default' });
    });
  });
});
