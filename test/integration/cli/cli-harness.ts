// Runs `planasonix` as a user does — a child process with KUBECONFIG pointing at the test control
// plane — and sets up the sample Pipeline and trigger the commands work on.
import path from 'node:path';
import type { V1Secret } from '@kubernetes/client-node';
import type { WebhookTrigger, WebhookTriggerSpec } from '../../../src/api/types.ts';
import { RESOURCES } from '../../../src/kube/resources.ts';
import { repoRoot } from '../../harness/control-plane.ts';
import { controlPlane } from '../../harness/root-hooks.ts';
import { adminClient, eventually, kubectl } from '../../harness/fixtures.ts';
import type { TestOperator } from '../../harness/operator.ts';
import { runProgram, type ProgramResult } from '../../harness/programs.ts';

export const PAYLOAD_FILE = 'deploy/examples/export-completed-payload.json';

/** `node src/cli/main.ts ARGS` in the repository, as the test control plane's admin. */
export function runCli(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ProgramResult> {
  const env = { ...process.env, KUBECONFIG: controlPlane().kubeconfig, ...opts.env };
  return runProgram(process.execPath, [path.join(repoRoot, 'src/cli/main.ts'), ...args], { cwd: repoRoot, env, input: opts.input });
}

/** Runs a shell command line (a printed curl command) and returns what it printed. */
export function runShell(line: string, env: NodeJS.ProcessEnv = {}): Promise<ProgramResult> {
  return runProgram('bash', ['-c', line], { cwd: repoRoot, env: { ...process.env, ...env } });
}

/**
 * Applies the sample Pipeline and WebhookTrigger into the namespace, as make dev does on the local
 * node: deploy/examples-local, whose Pipeline runs the node's imported busybox image, so its runs
 * really run (to Succeeded) on the test control plane's node.
 */
export async function applySamples(namespace: string): Promise<void> {
  const res = await kubectl(['apply', '-n', namespace, '-k', 'deploy/examples-local']);
  if (res.code !== 0) throw new Error(`applying deploy/examples-local failed: ${res.stderr}`);
}

/** The sample trigger's params, so that another trigger on the sample Pipeline validates. */
export const SAMPLE_PARAMS: WebhookTriggerSpec['params'] = [
  { name: 'export_id', from: 'body', path: '/export_id', required: true },
  { name: 'location', from: 'body', path: '/location', required: true },
  { name: 'requested_by', from: 'header', header: 'X-Requested-By' },
];

export async function createTrigger(namespace: string, name: string, spec: Partial<WebhookTriggerSpec>): Promise<void> {
  await adminClient().create<WebhookTrigger>(RESOURCES.webhookTriggers, {
    apiVersion: 'planasonix.io/v1alpha1',
    kind: 'WebhookTrigger',
    metadata: { name, namespace },
    spec: { pipelineRef: { name: 'export-loader' }, params: SAMPLE_PARAMS, ...spec },
  });
}

/** Waits until the trigger is Ready and the operator's receiver routes its URL (or knows it is suspended). */
export async function waitServing(operator: TestOperator, namespace: string, name: string, state: 'serving' | 'suspended' = 'serving'): Promise<void> {
  await eventually(async () => {
    if (state === 'serving') {
      const t = await adminClient().get<WebhookTrigger>(RESOURCES.webhookTriggers, namespace, name);
      if (!t.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return false;
    }
    const secret = await adminClient().get<V1Secret>(RESOURCES.secrets, namespace, `${name}-webhook`);
    const p = Buffer.from(secret.data?.path ?? '', 'base64').toString();
    return operator.routes?.lookup(p)?.state === state;
  }, 30_000);
}

export async function secretValue(namespace: string, name: string, key: string): Promise<string> {
  const secret = await adminClient().get<V1Secret>(RESOURCES.secrets, namespace, name);
  return Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8');
}
