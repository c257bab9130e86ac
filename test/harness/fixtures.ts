// Per-file fixtures on the shared control plane: a client, a fresh namespace, kubectl.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { KubeClient } from '../../src/kube/client.ts';
import { RESOURCES } from '../../src/kube/resources.ts';
import { isAlreadyExists } from '../../src/kube/errors.ts';
import { controlPlane, ensureControlPlane } from './root-hooks.ts';
import { repoRoot } from './control-plane.ts';
import { runProgram, type ProgramResult } from './programs.ts';

export function adminClient(): KubeClient {
  return KubeClient.fromDefault({ kubeconfig: controlPlane().kubeconfig });
}

/** Runs kubectl against the test control plane; never throws on a non-zero exit. */
export function kubectl(args: string[], input?: string): Promise<ProgramResult> {
  const plane = controlPlane();
  return runProgram(plane.kubectl, args, { env: { ...process.env, KUBECONFIG: plane.kubeconfig }, input });
}

/** Installs crds/*.yaml (idempotent) and waits until every CRD is Established. */
export async function installCRDs(): Promise<void> {
  const res = await kubectl(['apply', '--server-side', '--force-conflicts', '-f', path.join(repoRoot, 'crds')]);
  if (res.code !== 0) throw new Error(`installing CRDs failed: ${res.stderr}`);
  const wait = await kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', path.join(repoRoot, 'crds')]);
  if (wait.code !== 0) throw new Error(`CRDs not Established: ${wait.stderr}`);
}

/**
 * Registers mocha hooks that create a fresh namespace for the calling test file and delete it
 * afterwards. Returns a getter, since the name is only known once the hook ran.
 */
export function useNamespace(prefix = 't'): () => string {
  let name = '';
  before(async function () {
    this.timeout(15 * 60_000); // the first use may build the control plane
    await ensureControlPlane();
    await installCRDs();
    name = `${prefix}-${randomBytes(4).toString('hex')}`.toLowerCase();
    try {
      await adminClient().create(RESOURCES.namespaces, { metadata: { name } });
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  });
  after(async function () {
    if (name && process.env.PLANASONIX_KEEP_NAMESPACES !== 'true') {
      await adminClient().delete(RESOURCES.namespaces, undefined, name).catch(() => {});
    }
  });
  return () => name;
}

/** Reads a multi-document YAML file of the repository into objects. */
export function readYamlObjects(relativePath: string): Record<string, unknown>[] {
  const text = readFileSync(path.join(repoRoot, relativePath), 'utf8');
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Record<string, unknown> | null)
    .filter((o): o is Record<string, unknown> => o !== null);
}

/** Polls until fn returns a truthy value, or fails with the last error after timeoutMs. */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 10_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = new Error('condition not met');
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw last instanceof Error ? new Error(`timed out after ${timeoutMs} ms: ${last.message}`) : last;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
