// The test control plane runs the real Job controller and a node, so a Job the operator creates
// normally gets Pods that really run. Some tests need Job states a real Pod cannot reach quickly
// (a run Failed after hours of retries, a Job that completes the instant a test says so) or only
// look at the Job the operator builds; their Pipelines give the Job this spec.managedBy, which the
// operator copies from the jobTemplate like any JobSpec field. Kubernetes' Job controller (1.35:
// JobManagedBy is GA) leaves such Jobs alone: no Pods, no status; the test writes the status itself
// (run-fixtures' stand-in Job controller), under the same validation the real controller obeys.
export const TEST_JOB_CONTROLLER = 'planasonix.test/job-status-writer';

/** Spread into a jobTemplate's spec: Kubernetes runs no Pods for the Job, the test writes its status. */
export const STATUS_WRITTEN_BY_TEST = { managedBy: TEST_JOB_CONTROLLER } as const;
