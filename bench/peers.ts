// The peers `make bench` compares the receiver with: Tekton Triggers (EventListener sink + core
// interceptors) and Flux's notification-controller (Receiver), each built from its published Go
// module by tools/peers/build.sh and run as local processes against the bench's control plane,
// configured from bench/peers/*.yaml. A peer that cannot be built or started becomes a
// PeerFailure with the reason, and the bench goes on without it.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import type { KubeClient } from '../src/kube/client.ts';
import type { KubeObject } from '../src/kube/client.ts';
import type { ResourceType } from '../src/kube/resources.ts';
import { countObjects, deleteCollection, waitUntil, type RawApi } from './kube.ts';
import { repoRoot, startNativeProcess, type NativeProcess } from './processes.ts';
import { freePorts } from '../test/harness/ports.ts';

const exec = promisify(execFile);

export type PeerId = 'tekton' | 'tekton-qps' | 'flux';

/** A receiver under comparison, ours included: where its deliveries go and how to count what it stored. */
export interface ReceiverTarget {
  id: string;
  label: string;
  /** Where signed deliveries are posted. */
  url: string;
  /** Its answer to an accepted delivery. */
  acceptStatus: number;
  /** The processes that receive (their RSS and CPU are summed). */
  pids(): number[];
  /** Objects it has stored in the API server so far (runs, or writes to its target for Flux). */
  persisted(): Promise<number>;
  /** Deletes what it stored, between rounds. */
  clean(): Promise<void>;
  /** After an accept round: drops whatever work it still holds in memory, so the next round starts clean. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export interface PeerFailure {
  id: PeerId;
  label: string;
  reason: string;
}

export interface PeerCluster {
  client: KubeClient;
  api: RawApi;
  /** kubectl against the control plane, as its admin. */
  kubectl(args: string[]): Promise<string>;
  /** A kubeconfig for the peers (a ServiceAccount token, as the operator gets). */
  kubeconfig: string;
  workDir: string;
  /** The GitHub signing secret all receivers share, so that one load signs for all. */
  signingSecret: string;
  log(msg: string): void;
}

export const PEER_LABELS: Record<PeerId, string> = {
  tekton: 'Tekton Triggers v0.33.0 (defaults)',
  'tekton-qps': 'Tekton Triggers v0.33.0 (API QPS 1000)',
  flux: 'Flux notification-controller v1.6.0',
};

const TEKTON_NS = 'bench-tekton';
const FLUX_NS = 'bench-flux';
const TEKTON_SYSTEM_NS = 'tekton-pipelines';
/** The core interceptors server listens on this port whatever it is told (a constant in its main.go). */
const INTERCEPTORS_PORT = 8443;
const TEKTON_RUNS: ResourceType = { group: 'tekton.dev', version: 'v1', plural: 'pipelineruns', kind: 'PipelineRun', namespaced: true };
const GIT_REPOSITORIES: ResourceType = { group: 'source.toolkit.fluxcd.io', version: 'v1', plural: 'gitrepositories', kind: 'GitRepository', namespaced: true };
const FLUX_REQUESTED_AT = 'reconcile.fluxcd.io/requestedAt';

/** Builds (or finds cached) a peer's binaries; the directory, or the reason it could not. */
export async function buildPeer(peer: 'tekton' | 'flux', log: (msg: string) => void): Promise<{ dir: string } | { error: string }> {
  const started = performance.now();
  try {
    const { stdout, stderr } = await exec(path.join(repoRoot, 'tools/peers/build.sh'), [peer], { maxBuffer: 64 * 1024 * 1024, timeout: 45 * 60_000 });
    if (stderr.includes('built in')) log(`  ${peer}: ${stderr.trim().split('\n').at(-1)}`);
    const dir = stdout.trim().split('\n').at(-1) ?? '';
    log(`  ${peer} peer ready in ${dir} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    return { dir };
  } catch (e) {
    const err = e as { stderr?: string; message?: string };
    const tail = (err.stderr ?? err.message ?? String(e)).trim().split('\n').slice(-3).join(' / ');
    return { error: `build failed: ${tail.slice(0, 400)}` };
  }
}

/** The manifest with its ${NAME} placeholders filled in; a placeholder without a value is an error. */
export function fillTemplate(text: string, values: Record<string, string>): string {
  return text.replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`no value for \${${name}}`);
    return v;
  });
}

async function applyFile(cluster: PeerCluster, name: string, text: string): Promise<void> {
  const file = path.join(cluster.workDir, name);
  writeFileSync(file, text);
  await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', file]);
}

/** Applies CRD files and waits until the API server serves them. */
async function installCrds(cluster: PeerCluster, name: string, docs: Record<string, unknown>[]): Promise<void> {
  const text = docs.map((d) => JSON.stringify(d)).join('\n---\n');
  await applyFile(cluster, name, text);
  const file = path.join(cluster.workDir, name);
  await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', file]);
}

function readYamlDocs(file: string): Record<string, unknown>[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as Record<string, unknown> | null)
    .filter((d): d is Record<string, unknown> => d !== null);
}

function logTail(p: NativeProcess): string {
  try {
    return readFileSync(p.logFile, 'utf8').trim().split('\n').slice(-3).join(' / ').slice(0, 400);
  } catch {
    return '(no log)';
  }
}

async function answersHttp(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Waits for `check`, failing early with the process's last log lines if it exits meanwhile. */
async function waitForProcess(p: NativeProcess, what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  await waitUntil(
    async () => {
      if (p.exited()) throw new Error(`exited before ${what}: ${logTail(p)}`);
      return check();
    },
    timeoutMs,
    what,
    250,
  );
}

// ------------------------------------------------------------------ Tekton Triggers

interface TektonInstall {
  dir: string;
  interceptors: NativeProcess;
}

async function installTekton(cluster: PeerCluster, dir: string): Promise<TektonInstall> {
  if (await listening(INTERCEPTORS_PORT)) throw new Error(`port ${INTERCEPTORS_PORT}, which Tekton's interceptors server always uses, is taken`);
  const crdDir = path.join(dir, 'crds');
  const crds = readdirSync(crdDir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => readYamlDocs(path.join(crdDir, f)))
    .filter((d) => d.kind === 'CustomResourceDefinition')
    .map((d) => {
      // No Tekton webhook runs to convert between versions: objects are served as stored.
      const spec = d.spec as Record<string, unknown>;
      return { ...d, spec: { ...spec, conversion: { strategy: 'None' } } };
    });
  await installCrds(cluster, 'tekton-crds.yaml', crds);
  const manifest = fillTemplate(readFileSync(path.join(repoRoot, 'bench/peers/tekton.yaml'), 'utf8'), {
    NAMESPACE: TEKTON_NS,
    SIGNING_SECRET: Buffer.from(cluster.signingSecret).toString('base64'),
    INTERCEPTOR_URL: `https://localhost:${INTERCEPTORS_PORT}/github`,
  });
  await applyFile(cluster, 'tekton.yaml', manifest);
  const interceptors = startNativeProcess({
    binary: path.join(dir, 'interceptors'),
    args: [],
    env: {
      KUBECONFIG: cluster.kubeconfig,
      SYSTEM_NAMESPACE: TEKTON_SYSTEM_NS,
      INTERCEPTOR_TLS_SECRET_NAME: 'tekton-triggers-core-interceptors-certs',
      // The certificate it generates names this host; the ClusterInterceptor's URL uses it.
      INTERCEPTOR_TLS_SVC_NAME: 'localhost',
      CONFIG_OBSERVABILITY_NAME: 'config-observability-triggers',
      METRICS_DOMAIN: 'tekton.dev/triggers',
    },
    logFile: path.join(cluster.workDir, 'tekton-interceptors.log'),
  });
  try {
    // It generates its key pair into the Secret and writes its CA into the ClusterInterceptor, which
    // the sink reads once at start.
    await waitForProcess(interceptors, 'the interceptors server wrote its CA into the github ClusterInterceptor', async () => {
      const ci = await cluster.client.getPath<{ spec?: { clientConfig?: { caBundle?: string } } }>('/apis/triggers.tekton.dev/v1alpha1/clusterinterceptors/github');
      return Boolean(ci.spec?.clientConfig?.caBundle) && (await listening(INTERCEPTORS_PORT));
    });
  } catch (e) {
    await interceptors.stop();
    throw e;
  }
  return { dir, interceptors };
}

async function startTektonSink(cluster: PeerCluster, install: TektonInstall, qps: number | undefined, label: string): Promise<{ sink: NativeProcess; url: string }> {
  const [port, metricsPort] = await freePorts(2);
  // The flags and environment Tekton's reconciler gives the sink's container.
  const sink = startNativeProcess({
    binary: path.join(install.dir, 'eventlistenersink'),
    args: [
      '--el-name=github',
      `--el-namespace=${TEKTON_NS}`,
      `--port=${port}`,
      '--readtimeout=5',
      '--writetimeout=40',
      '--idletimeout=30',
      '--timeouthandler=5',
      '--httpclient-readtimeout=30',
      '--httpclient-keep-alive=30',
      '--httpclient-tlshandshaketimeout=10',
      '--httpclient-responseheadertimeout=10',
      '--httpclient-expectcontinuetimeout=1',
      '--is-multi-ns=false',
      '--payload-validation=true',
      '--cloudevent-uri=',
    ],
    env: {
      KUBECONFIG: cluster.kubeconfig,
      NAMESPACE: TEKTON_NS,
      NAME: 'github',
      SYSTEM_NAMESPACE: TEKTON_SYSTEM_NS,
      EL_EVENT: 'disable',
      K_SINK_TIMEOUT: '5', // the reconciler's value: --timeouthandler
      METRICS_PROMETHEUS_PORT: String(metricsPort),
      // Unset, client-go's defaults (5 requests/s, burst 10) cap what the sink can create.
      ...(qps ? { KUBE_API_QPS: String(qps), KUBE_API_BURST: String(qps) } : {}),
    },
    logFile: path.join(cluster.workDir, `tekton-sink-${label}.log`),
  });
  const url = `http://127.0.0.1:${port}/`;
  try {
    await waitForProcess(sink, `the ${label} EventListener sink to listen`, () => answersHttp(`http://127.0.0.1:${port}/live`));
  } catch (e) {
    await sink.stop();
    throw e;
  }
  return { sink, url };
}

function tektonTarget(cluster: PeerCluster, install: TektonInstall, id: 'tekton' | 'tekton-qps', first: { sink: NativeProcess; url: string }, qps: number | undefined): ReceiverTarget {
  let current = first;
  return {
    id,
    label: PEER_LABELS[id],
    get url() {
      return current.url;
    },
    acceptStatus: 202,
    pids: () => [current.sink.pid, install.interceptors.pid],
    persisted: () => countObjects(cluster.client, TEKTON_RUNS, TEKTON_NS),
    clean: async () => {
      await waitUntil(
        async () => {
          if ((await countObjects(cluster.client, TEKTON_RUNS, TEKTON_NS)) === 0) return true;
          await deleteCollection(cluster.api, TEKTON_RUNS, TEKTON_NS);
          return false;
        },
        120_000,
        'Tekton PipelineRuns to be deleted',
        1_000,
      );
    },
    // The sink answers before it works: its backlog lives in memory and is lost when it stops.
    reset: async () => {
      await current.sink.stop();
      current = await startTektonSink(cluster, install, qps, id);
    },
    stop: () => current.sink.stop(),
  };
}

// ------------------------------------------------------------------ Flux notification-controller

/** Counts the writes Flux's Receiver made to its target: one annotation patch per accepted delivery. */
function watchFluxWrites(client: KubeClient): { count(): number; stop(): void } {
  let writes = 0;
  let last: string | undefined;
  const abort = new AbortController();
  void (async () => {
    let resourceVersion: string | undefined;
    while (!abort.signal.aborted) {
      try {
        if (!resourceVersion) {
          const list = await client.list<KubeObject>(GIT_REPOSITORIES, FLUX_NS);
          resourceVersion = list.metadata.resourceVersion;
          last = list.items[0]?.metadata?.annotations?.[FLUX_REQUESTED_AT];
        }
        await client.watch<KubeObject>(GIT_REPOSITORIES, FLUX_NS, { resourceVersion, signal: abort.signal }, (type, obj) => {
          if (obj.metadata?.resourceVersion) resourceVersion = obj.metadata.resourceVersion;
          const value = obj.metadata?.annotations?.[FLUX_REQUESTED_AT];
          if (type === 'MODIFIED' && value !== undefined && value !== last) writes++;
          if (value !== undefined) last = value;
        });
      } catch {
        if (abort.signal.aborted) return;
        resourceVersion = undefined; // expired: list again (a write between the two is missed, and rare)
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  })();
  return { count: () => writes, stop: () => abort.abort() };
}

async function startFlux(cluster: PeerCluster, dir: string): Promise<ReceiverTarget> {
  const crdDir = path.join(dir, 'crds');
  const crds = [
    ...readdirSync(crdDir)
      .filter((f) => f.endsWith('.yaml'))
      .flatMap((f) => readYamlDocs(path.join(crdDir, f))),
    ...readYamlDocs(path.join(repoRoot, 'bench/peers/gitrepository-crd.yaml')),
  ].filter((d) => d.kind === 'CustomResourceDefinition');
  await installCrds(cluster, 'flux-crds.yaml', crds);
  await applyFile(
    cluster,
    'flux.yaml',
    fillTemplate(readFileSync(path.join(repoRoot, 'bench/peers/flux.yaml'), 'utf8'), { NAMESPACE: FLUX_NS, SIGNING_SECRET: Buffer.from(cluster.signingSecret).toString('base64') }),
  );
  const [receiverPort, metricsPort, eventsPort, healthPort] = await freePorts(4);
  const controller = startNativeProcess({
    binary: path.join(dir, 'notification-controller'),
    args: [
      '--watch-all-namespaces',
      `--receiverAddr=127.0.0.1:${receiverPort}`,
      `--metrics-addr=127.0.0.1:${metricsPort}`,
      `--events-addr=127.0.0.1:${eventsPort}`,
      `--health-addr=127.0.0.1:${healthPort}`,
      '--log-level=info',
    ],
    env: { KUBECONFIG: cluster.kubeconfig, RUNTIME_NAMESPACE: FLUX_NS },
    logFile: path.join(cluster.workDir, 'flux-notification-controller.log'),
  });
  let webhookPath = '';
  try {
    await waitForProcess(controller, 'the Flux Receiver to be Ready with its webhook path', async () => {
      const r = await cluster.client.getPath<{ status?: { webhookPath?: string; conditions?: { type: string; status: string }[] } }>(
        `/apis/notification.toolkit.fluxcd.io/v1/namespaces/${FLUX_NS}/receivers/github`,
      );
      webhookPath = r.status?.webhookPath ?? '';
      const ready = (r.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
      return ready && webhookPath !== '' && (await listening(receiverPort));
    });
  } catch (e) {
    await controller.stop();
    throw e;
  }
  const writes = watchFluxWrites(cluster.client);
  return {
    id: 'flux',
    label: PEER_LABELS.flux,
    url: `http://127.0.0.1:${receiverPort}${webhookPath}`,
    acceptStatus: 200,
    pids: () => [controller.pid],
    persisted: async () => writes.count(),
    clean: async () => {},
    reset: async () => {},
    stop: async () => {
      writes.stop();
      await controller.stop();
    },
  };
}

// ------------------------------------------------------------------ all peers

/**
 * Starts every peer that builds and runs; the others come back as failures with their reason.
 * Builds are expected to be done already (buildPeer before the control plane starts): here they
 * are cache hits.
 */
export async function startPeers(cluster: PeerCluster, built: Record<'tekton' | 'flux', { dir: string } | { error: string }>): Promise<{ targets: ReceiverTarget[]; failures: PeerFailure[] }> {
  const targets: ReceiverTarget[] = [];
  const failures: PeerFailure[] = [];
  const fail = (id: PeerId, reason: string) => {
    cluster.log(`  ${PEER_LABELS[id]}: ${reason}`);
    failures.push({ id, label: PEER_LABELS[id], reason });
  };

  const tekton = built.tekton;
  if ('error' in tekton) {
    fail('tekton', tekton.error);
    fail('tekton-qps', tekton.error);
  } else {
    try {
      const install = await installTekton(cluster, tekton.dir);
      for (const [id, qps] of [
        ['tekton', undefined],
        ['tekton-qps', 1000],
      ] as const) {
        try {
          targets.push(tektonTarget(cluster, install, id, await startTektonSink(cluster, install, qps, id), qps));
          cluster.log(`  ${PEER_LABELS[id]} listening at ${targets.at(-1)!.url}`);
        } catch (e) {
          fail(id, `cannot run: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      const sinks = targets.filter((t) => t.id.startsWith('tekton'));
      if (sinks.length === 0) await install.interceptors.stop();
      else {
        // The interceptors server is shared: stopped with the last sink.
        const last = sinks.at(-1)!;
        const stopSink = last.stop;
        last.stop = async () => {
          await stopSink();
          await install.interceptors.stop();
        };
      }
    } catch (e) {
      const reason = `cannot run: ${e instanceof Error ? e.message : String(e)}`;
      fail('tekton', reason);
      fail('tekton-qps', reason);
    }
  }

  const flux = built.flux;
  if ('error' in flux) fail('flux', flux.error);
  else {
    try {
      targets.push(await startFlux(cluster, flux.dir));
      cluster.log(`  ${PEER_LABELS.flux} listening at ${targets.at(-1)!.url}`);
    } catch (e) {
      fail('flux', `cannot run: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return { targets, failures };
}
