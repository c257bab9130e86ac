// A batch/v1 Job as it travels through our REST client: plain JSON, timestamps as RFC 3339 strings.
// The client library's V1Job models timestamps as Date, which is not what a JSON body holds.
// Type aliases (not interfaces) so that a Job is assignable to the client's KubeObject.
import type { ObjectMeta } from '../../api/types.ts';

export type EnvVar = {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    [k: string]: unknown;
  };
};

export type Container = {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  [k: string]: unknown;
};

export type PodTemplateSpec = {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  spec?: {
    containers?: Container[];
    initContainers?: Container[];
    restartPolicy?: string;
    [k: string]: unknown;
  };
};

export type JobSpec = {
  template: PodTemplateSpec;
  activeDeadlineSeconds?: number;
  backoffLimit?: number;
  suspend?: boolean;
  ttlSecondsAfterFinished?: number;
  [k: string]: unknown;
};

export type JobCondition = {
  /** Complete, Failed, and since Kubernetes 1.31 the interim SuccessCriteriaMet and FailureTarget, Suspended. */
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastProbeTime?: string;
  lastTransitionTime?: string;
};

export type JobStatus = {
  /** Pods that are pending or running. */
  active?: number;
  ready?: number;
  succeeded?: number;
  failed?: number;
  terminating?: number;
  startTime?: string;
  /** Set only when the Job succeeded. */
  completionTime?: string;
  conditions?: JobCondition[];
};

/** A Job always has a name: it is named after its run. */
export type JobMetadata = ObjectMeta & { name: string };

export type Job = {
  apiVersion: 'batch/v1';
  kind: 'Job';
  metadata: JobMetadata;
  spec: JobSpec;
  status?: JobStatus;
  [k: string]: unknown;
};
