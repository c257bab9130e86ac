// Shared pieces of the end-to-end tests that run pipelines on the test control plane's real node:
// Pipelines whose container is a shell script in the locally imported busybox image, the Pods of a
// run's Job, their output read through the API (pods/log, as `kubectl logs` reads it), and a watch
// that remembers how many of a namespace's Pods were running at once.
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { Pipeline, PipelineSpec } from '../../src/api/types.ts';
import { RESOURCES } from '../../src/kube/resources.ts';
import type { Logger } from '../../src/observability/logger.ts';
import { adminClient, useNamespace } from '../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../harness/operator.ts';
import { pipelineObject } from '../integration/pipeline-run/run-fixtures.ts';
import { controlPlane } from '../harness/root-hooks.ts';
import type { LocalNode } from '../harness/control-plane.ts';

/** How long a real Pod may take from its Job's creation to its end on a loaded 2-core machine. */
export const POD_TIMEOUT_MS = 120_000;

/** The local node; fails the test, saying why, when the control plane runs none. */
export function localNode(): LocalNode {
  const plane = controlPlane();
  if (plane.node) return plane.node;
  throw new Error(
    `this test runs Pods and needs the local node, which is not running: ${plane.nodeError ?? 'PLANASONIX_TEST_NODE=off, or a cluster without the local node'}`,
  );
}

/**
 * A Pipeline whose one container runs `script` with busybox's sh; args after the script are its
 * positional parameters ($1...). The image was imported into the node, never pulled.
 */
export function scriptPipeline(namespace: string, name: string, script: string, spec: Partial<PipelineSpec> = {}, args: string[] = []): Pipeline {
  // run-fixtures' Pipeline (param export_id), with a Job that Kubernetes runs rather than the test.
  return pipelineObject(namespace, name, {
    jobTemplate: {
      spec: {
        template: {
          spec: {
            restartPolicy: 'Never',
            terminationGracePeriodSeconds: 2,
            containers: [{ name: 'main', image: localNode().images.busybox, imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', script, 'pipeline'], args }],
          },
        },
      },
    },
    ...spec,
  });
}

/**
 * This file's namespace and an operator watching it, for tests that run Pods on the local node
 * (which must be running: the before hook fails, saying why, when it is not).
 */
export function useNodeOperator(prefix: string, opts: { logger?: Logger } = {}): { ns: () => string; operator: () => TestOperator } {
  const ns = useNamespace(prefix);
  let running: TestOperator | undefined;
  before(async () => {
    localNode();
    running = await startTestOperator({ namespaces: [ns()] }, opts.logger ? { logger: opts.logger } : {});
  });
  after(async () => {
    await running?.stop();
  });
  return { ns, operator: () => running! };
}

export async function createScriptPipeline(namespace: string, name: string, script: string, spec: Partial<PipelineSpec> = {}, args: string[] = []): Promise<Pipeline> {
  return adminClient().create(RESOURCES.pipelines, scriptPipeline(namespace, name, script, spec, args));
}

/** The Pods the Job controller created for a Job, oldest first. */
export async function podsOfJob(namespace: string, job: string): Promise<V1Pod[]> {
  const list = await adminClient().list<V1Pod & { metadata: { name: string } }>(RESOURCES.pods, namespace, { labelSelector: `batch.kubernetes.io/job-name=${job}` });
  return list.items.toSorted((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)));
}

function coreApi(): CoreV1Api {
  const kc = new KubeConfig();
  kc.loadFromFile(controlPlane().kubeconfig);
  return kc.makeApiClient(CoreV1Api);
}

/** A container's output, through the API server's pods/log (which asks the kubelet). */
export async function podLog(namespace: string, pod: string, container = 'main'): Promise<string> {
  return coreApi().readNamespacedPodLog({ name: pod, namespace, container });
}

export interface RunningPods {
  /** The most Pods that were Running at the same time, as the watch saw them. */
  maxRunning(): number;
  /** Pods seen Running, in the order they started. */
  started(): string[];
  stop(): void;
}

/** Watches the namespace's Pods and counts those in phase Running after every event. */
export async function watchRunningPods(namespace: string): Promise<RunningPods> {
  const phases = new Map<string, string>();
  const started: string[] = [];
  let max = 0;
  const controller = new AbortController();
  const list = await adminClient().list<V1Pod & { metadata: { name: string } }>(RESOURCES.pods, namespace);
  const track = (pod: V1Pod, deleted = false) => {
    const name = pod.metadata!.name!;
    const phase = deleted ? 'Deleted' : (pod.status?.phase ?? 'Pending');
    if (phase === 'Running' && phases.get(name) !== 'Running') started.push(name);
    phases.set(name, phase);
    max = Math.max(max, [...phases.values()].filter((p) => p === 'Running').length);
  };
  for (const pod of list.items) track(pod);
  void adminClient()
    .watch<V1Pod & { metadata: { name: string } }>(
      RESOURCES.pods,
      namespace,
      { resourceVersion: list.metadata?.resourceVersion, signal: controller.signal },
      (type, pod) => {
        if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') track(pod, type === 'DELETED');
      },
    )
    .catch(() => {});
  return { maxRunning: () => max, started: () => [...started], stop: () => controller.abort() };
}
