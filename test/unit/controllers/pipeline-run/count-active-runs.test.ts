// The active-runs gauge's counts: unfinished runs by pipeline and phase, and a 0 for a pipeline whose
// runs have all finished, so its dashboard panel reads "none active" instead of no data.
import { expect } from 'chai';
import { countActiveRuns } from '../../../../src/controllers/pipeline-run/pipeline-run-controller.ts';
import { makeRun } from './fixtures.ts';

describe('countActiveRuns', () => {
  it('counts Pending and Running runs per pipeline, and 0 for a pipeline whose runs all finished', () => {
    const runs = [
      makeRun({ name: 'a' }), // no status yet: Pending
      makeRun({ name: 'b', status: { phase: 'Running' } }),
      makeRun({ name: 'c', status: { phase: 'Running' } }),
      makeRun({ name: 'd', status: { phase: 'Succeeded' } }),
      makeRun({ name: 'e', spec: { pipelineRef: { name: 'nightly' } }, status: { phase: 'Failed' } }),
      makeRun({ name: 'f', spec: { pipelineRef: { name: 'nightly' } }, status: { phase: 'Cancelled' } }),
    ];
    const counts = [...countActiveRuns(runs).values()].map((c) => `${c.namespace}/${c.pipeline} ${c.phase}=${c.count}`).sort();
    expect(counts).to.deep.equal(['data/export-loader Pending=1', 'data/export-loader Running=2', 'data/nightly Pending=0', 'data/nightly Running=0']);
  });

  it('reports nothing without runs', () => {
    expect(countActiveRuns([]).size).to.equal(0);
  });
});
