// Finds the run an earlier delivery of the same signed content created, from the operator's cache of
// PipelineRuns, indexed by the replay-key label: a Map look-up per delivery. Asking the API server
// instead (a LIST by label) cost it about as much CPU as creating the run, because it filters every
// PipelineRun of the namespace, and that grows with the run history.
import type { PipelineRun } from '../api/types.ts';
import type { SharedInformer } from '../controller-runtime/shared-informer.ts';
import { keyOf } from '../controller-runtime/keys.ts';
import { REPLAY_KEY_LABEL, replayKeyLabelValue } from './build-pipeline-run.ts';

const REPLAY_INDEX = 'replay-key';

export type FindReplayedRun = (namespace: string, trigger: string, replayKey: string) => PipelineRun | undefined;

/**
 * A read, not a claim: the cache trails the API server by milliseconds (a watch), so a replay sent
 * within that time of the original could pass, as one racing the original would past any read. A
 * replay of a captured request comes later than that.
 */
export function replayedRunFinder(runs: SharedInformer<PipelineRun>): FindReplayedRun {
  if (!runs.hasIndex(REPLAY_INDEX)) {
    runs.addIndex(REPLAY_INDEX, (r) => {
      const value = r.metadata.labels?.[REPLAY_KEY_LABEL];
      return value ? [keyOf(r.metadata.namespace, value)] : [];
    });
  }
  return (namespace, trigger, replayKey) =>
    // The label holds a prefix of the key and runs of every trigger: compare the trigger's full name.
    runs.byIndex(REPLAY_INDEX, keyOf(namespace, replayKeyLabelValue(replayKey))).find((r) => r.spec.trigger?.name === trigger);
}
