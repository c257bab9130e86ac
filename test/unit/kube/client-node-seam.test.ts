// The contract of src/kube/client-node-seam.ts: every assumption it makes about
// @kubernetes/client-node's internals, checked against the installed version. When an upgrade
// breaks one, this fails and names it; the fix belongs in the seam, nowhere else.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Agent } from 'undici';
import { authenticate, GENERATED_INDEX_SPECIFIER, KubeConfig, quantityToScalar, SEAM_CHECKED_VERSION, speakHttp1 } from '../../../src/kube/client-node-seam.ts';
import { repoRoot } from '../../harness/control-plane.ts';
import { runProgram } from '../../harness/programs.ts';

const libraryDir = path.join(repoRoot, 'node_modules/@kubernetes/client-node');
const installed = (JSON.parse(readFileSync(path.join(libraryDir, 'package.json'), 'utf8')) as { version: string }).version;
const note = `(@kubernetes/client-node ${installed}; the seam was checked against ${SEAM_CHECKED_VERSION})`;

function tokenConfig(server: string, extra: { caData?: string } = {}): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, ...extra }],
    users: [{ name: 'u', token: 'seam-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

// CA data only has to be present: the dispatcher is built, never connected.
const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n').toString('base64');

describe('client-node seam', function () {
  this.timeout(30_000);

  it('dist/config.js imports only createConfiguration and ServerConfiguration from the generated index', () => {
    const source = readFileSync(path.join(libraryDir, 'dist/config.js'), 'utf8');
    const imports = [...source.matchAll(/import\s*\{([^}]*)\}\s*from\s*'([^']+)'/g)].filter((m) => m[2] === GENERATED_INDEX_SPECIFIER);
    expect(imports, `dist/config.js no longer imports ${GENERATED_INDEX_SPECIFIER}: the resolve hook has nothing to replace ${note}`).to.have.length(1);
    const names = imports[0]![1]!.split(',').map((n) => n.trim()).filter(Boolean).sort();
    expect(names, `the resolve hook's subset must export every name dist/config.js takes from the generated index ${note}`).to.deep.equal(['ServerConfiguration', 'createConfiguration']);
  });

  it('loads KubeConfig and authenticates without loading one generated API model; the package root still works', async () => {
    const script = `
      import { registerHooks } from 'node:module';
      const loaded = [];
      registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); loaded.push(r.url); return r; } });
      const seam = await import(${JSON.stringify(path.join(repoRoot, 'src/kube/client-node-seam.ts'))});
      const kc = new seam.KubeConfig();
      kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u', token: 't' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
      const auth = await seam.authenticate(kc, 'https://127.0.0.1:1');
      const models = () => loaded.filter((u) => u.includes('/client-node/dist/gen/models/')).length;
      const before = models();
      const root = await import('@kubernetes/client-node');
      const api = kc.makeApiClient(root.CoreV1Api);
      process.stdout.write(JSON.stringify({ before, after: models(), authorization: auth.headers.Authorization ?? auth.headers.authorization, api: typeof api.readNamespace }));
    `;
    const child = await runProgram(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot });
    expect(child.code, child.stderr).to.equal(0);
    const result = JSON.parse(child.stdout) as Record<string, unknown>;
    expect(result.before, `generated models loaded through the seam ${note}`).to.equal(0);
    expect(result.authorization).to.equal('Bearer t');
    expect(result.after, 'the package root loads its own generated code').to.be.greaterThan(100);
    expect(result.api).to.equal('function');
  });

  it('KubeConfig still has the private createDispatcher and the public createDispatcherOptions speakHttp1 relies on', () => {
    const kc = tokenConfig('https://127.0.0.1:1', { caData: CA });
    expect(typeof (kc as unknown as { createDispatcher?: unknown }).createDispatcher, `KubeConfig.createDispatcher ${note}`).to.equal('function');
    const options = kc.createDispatcherOptions(kc.getCurrentCluster(), { ca: Buffer.from('x') });
    expect(options, `createDispatcherOptions for a TLS cluster ${note}`).to.include({ type: 'agent' });
    expect((options as { connect?: { ca?: unknown } }).connect?.ca, 'the TLS material travels in connect').to.not.equal(undefined);
  });

  // That this Agent speaks only HTTP/1.1 on the wire is client-transport.test.ts's to show.
  it('after speakHttp1, authentication yields the bearer token and the undici Agent speakHttp1 built', async () => {
    const kc = tokenConfig('https://127.0.0.1:1', { caData: CA });
    speakHttp1(kc);
    const auth = await authenticate(kc, 'https://127.0.0.1:1');
    expect(auth.headers.Authorization ?? auth.headers.authorization, `headers from applySecurityAuthentication ${note}`).to.equal('Bearer seam-token');
    expect(auth.dispatcher, `the dispatcher from RequestContext ${note}`).to.be.instanceOf(Agent);
    await auth.dispatcher!.close();
  });

  it('quantityToScalar reads binary and decimal byte suffixes', () => {
    expect(Number(quantityToScalar('512Ki'))).to.equal(524_288);
    expect(Number(quantityToScalar('3G'))).to.equal(3_000_000_000);
    expect(Number(quantityToScalar('17'))).to.equal(17);
  });
});
