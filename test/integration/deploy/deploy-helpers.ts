// Shared by the deploy tests: build deploy/ with the control plane's kubectl (its built-in kustomize),
// install it into the test control plane, remove it again, and send signed deliveries.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { V1Secret } from '@kubernetes/client-node';
import { repoRoot } from '../../harness/control-plane.ts';
import { adminClient, eventually, kubectl } from '../../harness/fixtures.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { isKubeError } from '../../../src/kube/errors.ts';
import { signRequest } from '../../../src/signing/sign-request.ts';

export const OPERATOR_NAMESPACE = 'planasonix-system';
export const OPERATOR_NAME = 'planasonix-webhook-operator';
export const SERVICE_ACCOUNT_USER = `system:serviceaccount:${OPERATOR_NAMESPACE}:${OPERATOR_NAME}`;
/** The receiver's Deployment, ServiceAccount and ClusterRole. */
export const RECEIVER_NAME = 'planasonix-webhook-receiver';
export const RECEIVER_SERVICE_ACCOUNT_USER = `system:serviceaccount:${OPERATOR_NAMESPACE}:${RECEIVER_NAME}`;

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** `kubectl kustomize DIR` (DIR relative to the repository), parsed. */
export async function kustomizeBuild(dir: string): Promise<{ text: string; objects: Manifest[] }> {
  const res = await kubectl(['kustomize', path.resolve(repoRoot, dir)]);
  if (res.code !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${res.stderr}`);
  const objects = parseAllDocuments(res.stdout)
    .map((d) => d.toJS() as Manifest | null)
    .filter((o): o is Manifest => o !== null);
  return { text: res.stdout, objects };
}

export function findObject(objects: Manifest[], kind: string, name: string): Manifest {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`${kind} ${name} is not in the build; it has ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

/** `kind/name` for kubectl, with the group for kinds whose short form is ambiguous. */
export function kubectlRef(o: Manifest): string {
  const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
  const kind = o.kind.toLowerCase();
  return `${group ? `${kind}.${group}` : kind}/${o.metadata.name}`;
}

export interface Installation {
  objects: Manifest[];
  /** Removes what installDeploy() added, unless the operator's namespace existed before (a real cluster). */
  uninstall(): Promise<void>;
}

/** Whether planasonix-system exists and is not being deleted. */
export async function operatorNamespaceExists(): Promise<boolean> {
  return adminClient()
    .get(RESOURCES.namespaces, undefined, OPERATOR_NAMESPACE)
    .then(
      (ns) => !(ns.metadata as { deletionTimestamp?: string } | undefined)?.deletionTimestamp,
      (e: unknown) => {
        if (isKubeError(e) && e.notFound) return false;
        throw e;
      },
    );
}

/**
 * Applies the whole deploy/ kustomization (server-side, as a user would) and waits for the CRDs.
 * The Deployment gets no pods: the test control plane runs no deployment controller.
 */
export async function installDeploy(fieldManager = 'planasonix-deploy-test'): Promise<Installation> {
  const existed = await operatorNamespaceExists();
  if (!existed) await waitNamespaceGone(); // a previous file's uninstall may still be finishing
  const { text, objects } = await kustomizeBuild('deploy');
  const applied = await kubectl(['apply', '--server-side', `--field-manager=${fieldManager}`, '-f', '-'], text);
  if (applied.code !== 0) throw new Error(`kubectl apply -k deploy failed: ${applied.stderr}`);
  const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => `crd/${o.metadata.name}`);
  const wait = await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...crds]);
  if (wait.code !== 0) throw new Error(`CRDs not Established: ${wait.stderr}`);
  return { objects, uninstall: async () => (existed ? undefined : uninstallDeploy(objects)) };
}

/** Deletes the operator's namespace and cluster-wide RBAC, and waits until the namespace is gone. */
export async function uninstallDeploy(objects: Manifest[]): Promise<void> {
  if (process.env.PLANASONIX_KEEP_NAMESPACES === 'true') return;
  // The CRDs stay: other test files share them, and deleting a CRD deletes every object of it.
  const clusterScoped = objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding').map(kubectlRef);
  await kubectl(['delete', '--ignore-not-found', '--wait=false', ...clusterScoped]);
  await kubectl(['delete', '--ignore-not-found', '--wait=false', `namespace/${OPERATOR_NAMESPACE}`]);
  await waitNamespaceGone();
}

async function waitNamespaceGone(): Promise<void> {
  await eventually(
    () =>
      adminClient()
        .get(RESOURCES.namespaces, undefined, OPERATOR_NAMESPACE)
        .then(
          () => false,
          (e: unknown) => isKubeError(e) && e.notFound,
        ),
    90_000,
    250,
  );
}

/** Reads the generated Secret of a trigger: its capability path and current signing secret. */
export async function webhookEndpoint(namespace: string, trigger: string): Promise<{ path: string; signingSecret: string; previousSigningSecret?: string }> {
  const secret = await adminClient().get<V1Secret>(RESOURCES.secrets, namespace, `${trigger}-webhook`);
  const read = (key: string) => (secret.data?.[key] === undefined ? undefined : Buffer.from(secret.data[key], 'base64').toString());
  return { path: read('path')!, signingSecret: read('signing-secret')!, ...(read('previous-signing-secret') ? { previousSigningSecret: read('previous-signing-secret') } : {}) };
}

/** POSTs a delivery signed with the planasonix scheme, as a sender would. */
export async function sendDelivery(receiverUrl: string, webhookPath: string, secret: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const raw = Buffer.from(JSON.stringify(body));
  const res = await fetch(receiverUrl + webhookPath, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signRequest('planasonix', { secret, body: raw }), ...headers },
    body: raw,
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { text };
  }
  return { status: res.status, body: parsed };
}

/** Whether a program is on $PATH. */
export function onPath(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}

export const PROMETHEUS_INSTALL_HINT = 'install Debian\'s prometheus package (it has both): apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus';
