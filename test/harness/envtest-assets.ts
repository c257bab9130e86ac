// The KUBEBUILDER_ASSETS mode of the test control plane, as in controller-runtime's envtest: the
// prebuilt `etcd`, `kube-apiserver` and `kubectl` binaries of a directory (what `setup-envtest use`
// prints) are started from here, so no Go toolchain and no build are needed.
//
// What this process does for them: it generates the PKI with the `openssl` CLI (a CA, a serving
// certificate for 127.0.0.1/localhost, an admin client certificate in group system:masters and a
// service-account key pair) in a temporary directory, starts etcd and kube-apiserver there on free
// ports with the same flags as tools/controlplane (startAPIServer), writes a kubeconfig, and
// answers the same fault-injection commands as `controlplane up`:
//
//   stop-apiserver / start-apiserver   stop it; start it again on the same port, with the same etcd data
//   compact                            compact etcd's history up to its current revision (physically)
//   stop-kcm / start-kcm               rejected: kube-controller-manager is not part of envtest's assets
//
// LIMITATION: envtest's assets have no kube-controller-manager, so in this mode (as in envtest)
// nothing runs the garbage collector or the namespace controller: objects are never deleted through
// ownerReferences, deleted namespaces stay Terminating with their contents, and no `default`
// ServiceAccount appears in new namespaces. Tests that rely on those need the default mode.
//
// Children are started with `detached: false` (so a Ctrl-C to the terminal reaches them too), are
// killed when this process exits or is terminated by a signal, and, where util-linux's `setpriv`
// exists, are started through `setpriv --pdeathsig KILL` so they die even if this process is
// SIGKILLed, like the Pdeathsig of tools/controlplane.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ControlPlane } from './control-plane.ts';
import { freePorts } from './ports.ts';

export interface EnvtestControlPlane extends ControlPlane {
  /** The temporary directory holding the PKI, the kubeconfig, etcd's data and the logs. */
  dir: string;
  /** etcd's client URL (plain HTTP on 127.0.0.1). */
  etcd: string;
  /** Process ids of the children currently running (etcd, and kube-apiserver unless stopped). */
  pids(): number[];
}

export interface EnvtestAssetsOptions {
  /** Where the temporary directory is created; default os.tmpdir(). */
  tmpRoot?: string;
  /** How long to wait for etcd and for kube-apiserver to become ready; default 60 s and 90 s. */
  etcdReadyTimeoutMs?: number;
  apiserverReadyTimeoutMs?: number;
}

const ASSETS = ['etcd', 'kube-apiserver', 'kubectl'] as const;

/** Starts etcd and kube-apiserver from an envtest assets directory and returns the running control plane. */
export async function startEnvtestAssets(assetsDir: string, opts: EnvtestAssetsOptions = {}): Promise<EnvtestControlPlane> {
  const assets = path.resolve(assetsDir);
  const missing = ASSETS.filter((name) => !isExecutable(path.join(assets, name)));
  if (missing.length > 0) {
    throw new Error(`KUBEBUILDER_ASSETS=${assetsDir}: missing or not executable: ${missing.join(', ')} (expected envtest's etcd, kube-apiserver and kubectl)`);
  }
  const dir = mkdtempSync(path.join(opts.tmpRoot ?? tmpdir(), 'planasonix-envtest-'));
  const plane = new EnvtestPlane(assets, dir, opts);
  try {
    await plane.start();
  } catch (e) {
    await plane.stop();
    throw e;
  }
  return {
    kubeconfig: path.join(dir, 'kubeconfig'),
    server: plane.server,
    kubectl: path.join(assets, 'kubectl'),
    owned: true,
    dir,
    etcd: plane.etcdUrl,
    pids: () => plane.pids(),
    command: (line) => plane.command(line),
    stop: () => plane.stop(),
  };
}

class EnvtestPlane {
  readonly assets: string;
  readonly dir: string;
  readonly opts: EnvtestAssetsOptions;
  etcdUrl = '';
  port = 0;
  etcd: Child | undefined;
  apiserver: Child | undefined;
  queue: Promise<unknown> = Promise.resolve();
  stopping: Promise<void> | undefined;

  constructor(assets: string, dir: string, opts: EnvtestAssetsOptions) {
    this.assets = assets;
    this.dir = dir;
    this.opts = opts;
  }

  get server(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  pids(): number[] {
    return [this.etcd, this.apiserver].filter((c): c is Child => c !== undefined && c.running()).map((c) => c.pid);
  }

  async start(): Promise<void> {
    track(this);
    const [apiserverPort, etcdClientPort, etcdPeerPort] = await freePorts(3);
    this.port = apiserverPort;
    await writePKI(this.dir, this.port);
    await this.startEtcd(etcdClientPort, etcdPeerPort);
    await this.startAPIServer();
  }

  /** Runs one fault-injection command; commands run one at a time, in the order they were sent. */
  command(line: string): Promise<void> {
    const run = this.queue.then(() => this.run(line.trim()));
    this.queue = run.catch(() => {});
    return run;
  }

  private async run(line: string): Promise<void> {
    if (this.stopping) throw new Error(`control plane command ${line} failed: the control plane is stopped`);
    switch (line) {
      case 'stop-apiserver':
        await terminate(this.apiserver);
        this.apiserver = undefined;
        return;
      case 'start-apiserver':
        return this.startAPIServer();
      case 'compact':
        return this.compact();
      case 'stop-kcm':
      case 'start-kcm':
        throw new Error(
          `control plane command ${line} failed: kube-controller-manager is not part of envtest's assets (KUBEBUILDER_ASSETS has only etcd, kube-apiserver and kubectl), so there is no garbage collector or namespace controller in this mode`,
        );
      default:
        throw new Error(`control plane command ${line} failed: unknown command ${JSON.stringify(line)}`);
    }
  }

  private async startEtcd(clientPort: number, peerPort: number): Promise<void> {
    const clientUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const log = path.join(this.dir, 'etcd.log');
    this.etcd = launch(path.join(this.assets, 'etcd'), [
      '--name=planasonix',
      `--data-dir=${path.join(this.dir, 'etcd')}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=planasonix=${peerUrl}`,
      // Tests never need durability across a machine crash; fsync dominates etcd latency on small disks.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ], log);
    this.etcdUrl = clientUrl;
    const etcd = this.etcd;
    await waitUntil(`etcd (${clientUrl})`, this.opts.etcdReadyTimeoutMs ?? 60_000, etcd, log, async () => {
      const res = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(2_000) });
      const body = (await res.json()) as { health?: string };
      return res.ok && body.health === 'true';
    });
  }

  private async startAPIServer(): Promise<void> {
    if (this.apiserver?.running()) return;
    const d = this.dir;
    const log = path.join(d, 'apiserver.log');
    // The same flags as startAPIServer in tools/controlplane/main.go.
    const apiserver = launch(path.join(this.assets, 'kube-apiserver'), [
      `--etcd-servers=${this.etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      '--endpoint-reconciler-type=none',
      `--secure-port=${this.port}`,
      `--cert-dir=${d}`,
      `--tls-cert-file=${path.join(d, 'apiserver.crt')}`,
      `--tls-private-key-file=${path.join(d, 'apiserver.key')}`,
      `--client-ca-file=${path.join(d, 'ca.crt')}`,
      '--authorization-mode=RBAC',
      `--service-account-issuer=https://127.0.0.1:${this.port}`,
      `--service-account-key-file=${path.join(d, 'sa.pub')}`,
      `--service-account-signing-key-file=${path.join(d, 'sa.key')}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      // No controller creates the `default` ServiceAccount in new namespaces, as in envtest.
      '--disable-admission-plugins=ServiceAccount',
      // Events are written in bursts by tests; a short TTL keeps etcd small.
      '--event-ttl=10m',
      '--v=0',
    ], log);
    this.apiserver = apiserver;
    const tls = { ca: readFileSync(path.join(d, 'ca.crt')), cert: readFileSync(path.join(d, 'admin.crt')), key: readFileSync(path.join(d, 'admin.key')) };
    await waitUntil(`kube-apiserver (${this.server})`, this.opts.apiserverReadyTimeoutMs ?? 90_000, apiserver, log, async () => {
      if (this.apiserver !== apiserver) throw new Error('stopped while starting');
      return (await httpsStatus(`${this.server}/readyz`, tls)) === 200;
    });
  }

  /**
   * Compacts etcd's history up to its current revision through etcd's HTTP/JSON gateway (what
   * clientv3's Get + Compact(WithCompactPhysical) do in tools/controlplane). A revision that is
   * already compacted (kube-apiserver compacts every 5 minutes itself) counts as success.
   */
  private async compact(): Promise<void> {
    const range = await etcdPost(this.etcdUrl, '/v3/kv/range', { key: Buffer.from('compact-probe').toString('base64') });
    const revision = (range.body as { header?: { revision?: string } }).header?.revision;
    if (!range.ok || !revision) throw new Error(`control plane command compact failed: etcd range: ${JSON.stringify(range.body)}`);
    const res = await etcdPost(this.etcdUrl, '/v3/kv/compaction', { revision, physical: true });
    if (res.ok) return;
    const message = JSON.stringify(res.body);
    if (/required revision has been compacted/.test(message)) return;
    throw new Error(`control plane command compact failed: etcd compaction at revision ${revision}: ${message}`);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await terminate(this.apiserver);
      await terminate(this.etcd);
      this.apiserver = this.etcd = undefined;
      untrack(this);
      removeDir(this.dir);
    })();
    return this.stopping;
  }

  /** Synchronous last resort, from the process's exit and signal handlers. */
  killNow(): void {
    for (const c of [this.apiserver, this.etcd]) if (c?.running()) c.process.kill('SIGKILL');
    removeDir(this.dir);
  }
}

// ---------------------------------------------------------------------------------------------
// Child processes

interface Child {
  process: ChildProcess;
  pid: number;
  exited: Promise<void>;
  running(): boolean;
  /** How it ended, once it has: "exit code 1", "signal SIGKILL" or a spawn error. */
  outcome: string | undefined;
}

const setpriv = findOnPath('setpriv');

function launch(binary: string, args: string[], logPath: string): Child {
  const fd = openSync(logPath, 'a', 0o600);
  let proc: ChildProcess;
  try {
    // argv[0] stays the binary's own path: the tools/controlplane multi-call binary dispatches on it.
    proc = setpriv
      ? spawn(setpriv, ['--pdeathsig', 'KILL', '--', binary, ...args], { stdio: ['ignore', fd, fd], detached: false })
      : spawn(binary, args, { stdio: ['ignore', fd, fd], detached: false });
  } finally {
    closeSync(fd);
  }
  const child: Child = {
    process: proc,
    pid: proc.pid ?? -1,
    outcome: undefined,
    running: () => child.outcome === undefined,
    exited: new Promise<void>((resolve) => {
      proc.once('exit', (code, signal) => {
        child.outcome ??= signal ? `signal ${signal}` : `exit code ${code}`;
        resolve();
      });
      proc.once('error', (err) => {
        child.outcome ??= `failed to start: ${err.message}`;
        resolve();
      });
    }),
  };
  return child;
}

/** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone. */
async function terminate(child: Child | undefined, graceMs = 10_000): Promise<void> {
  if (!child || !child.running()) return;
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

/** Polls probe until it returns true; fails early (with the log's tail) if the process exits. */
async function waitUntil(what: string, timeoutMs: number, child: Child, logPath: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'not ready';
  for (;;) {
    if (!child.running()) throw new Error(`${what} ${child.outcome} before becoming ready; log:\n${tail(logPath)}`);
    try {
      if (await probe()) return;
    } catch (e) {
      if (e instanceof Error && e.message === 'stopped while starting') throw new Error(`${what}: stopped while starting`);
      last = e instanceof Error ? `${e.message}${e.cause instanceof Error ? `: ${e.cause.message}` : ''}` : String(e);
    }
    if (Date.now() > deadline) throw new Error(`${what} not ready within ${timeoutMs} ms (${last}); log:\n${tail(logPath)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// Every plane that has children, so that they die with this process even without stop().
const live = new Set<EnvtestPlane>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function killAll(): void {
  for (const plane of live) plane.killNow();
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killAll();
  removeProcessHooks();
  // Keep the signal's default effect (terminating this process) unless someone else handles it.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

let hooked = false;
function installProcessHooks(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}
function removeProcessHooks(): void {
  if (!hooked) return;
  hooked = false;
  process.off('exit', killAll);
  for (const s of SIGNALS) process.off(s, onSignal);
}

function track(plane: EnvtestPlane): void {
  live.add(plane);
  installProcessHooks();
}
function untrack(plane: EnvtestPlane): void {
  live.delete(plane);
  if (live.size === 0) removeProcessHooks();
}

function removeDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  } catch {
    // best effort: a process that is still dying may be writing into it
  }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(name: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(path.delimiter)) {
    if (d && isExecutable(path.join(d, name))) return path.join(d, name);
  }
  return undefined;
}

function httpsStatus(url: string, tls: { ca: Buffer; cert: Buffer; key: Buffer }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...tls, agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', reject);
    req.end();
  });
}

async function etcdPost(base: string, route: string, body: unknown): Promise<{ ok: boolean; body: unknown }> {
  const res = await fetch(base + route, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { ok: res.ok, body: parsed };
}

// ---------------------------------------------------------------------------------------------
// PKI, with the openssl CLI

function openssl(dir: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd: dir }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const hint = (err as NodeJS.ErrnoException).code === 'ENOENT' ? ' (is the openssl CLI installed? apt-get install openssl)' : '';
      reject(new Error(`openssl ${args.join(' ')} failed${hint}: ${err.message}\n${stderr}`));
    });
  });
}

const OPENSSL_CNF = `# Written by test/harness/envtest-assets.ts; subjects come from -subj.
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, IP:127.0.0.1, IP:10.0.0.1
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
`;

/**
 * Writes ca.crt/ca.key, apiserver.crt/.key (127.0.0.1, localhost), admin.crt/.key (CN admin,
 * O system:masters), sa.key/sa.pub and a kubeconfig into dir: the files tools/controlplane writes.
 */
async function writePKI(dir: string, port: number): Promise<void> {
  writeFileSync(path.join(dir, 'openssl.cnf'), OPENSSL_CNF, { mode: 0o600 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const days = ['-days', '3650'];
  await openssl(dir, ['req', '-x509', '-new', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', ...days, '-subj', '/CN=planasonix-envtest-ca', '-config', 'openssl.cnf', '-extensions', 'ca_ext']);
  const issue = async (name: string, subject: string, extensions: string) => {
    await openssl(dir, ['req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject, '-config', 'openssl.cnf']);
    await openssl(dir, [
      'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', `0x${randomBytes(8).toString('hex')}`,
      ...days, '-sha256', '-extfile', 'openssl.cnf', '-extensions', extensions, '-out', `${name}.crt`,
    ]);
  };
  await Promise.all([
    issue('apiserver', '/CN=kube-apiserver', 'server_ext'),
    issue('admin', '/CN=admin/O=system:masters', 'client_ext'),
    (async () => {
      await openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'sa.key']);
      await openssl(dir, ['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
    })(),
  ]);
  const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: planasonix-envtest
  cluster:
    server: https://127.0.0.1:${port}
    certificate-authority: ${path.join(dir, 'ca.crt')}
users:
- name: admin
  user:
    client-certificate: ${path.join(dir, 'admin.crt')}
    client-key: ${path.join(dir, 'admin.key')}
contexts:
- name: planasonix-envtest
  context:
    cluster: planasonix-envtest
    user: admin
    namespace: default
current-context: planasonix-envtest
`;
  writeFileSync(path.join(dir, 'kubeconfig'), kubeconfig, { mode: 0o600 });
  if (!existsSync(path.join(dir, 'sa.pub'))) throw new Error(`openssl did not write ${path.join(dir, 'sa.pub')}`);
}
