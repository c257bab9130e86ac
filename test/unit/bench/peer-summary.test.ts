import { expect } from 'chai';
import { peerTable, summarizeComparison, type AcceptRound, type PeerComparison, type ReceiverResult } from '../../../bench/peer-summary.ts';
import { githubPushBody } from '../../../bench/github-delivery.ts';
import { fillTemplate } from '../../../bench/peers.ts';

const config = { rounds: 3, connections: 16, rejectSeconds: 6, acceptSeconds: 8, drainSeconds: 10, acceptMaxRequests: 20_000 };

function accept(persistedPerSecond: number, answered2xx: number, never: number, p99 = 100): AcceptRound {
  return { seconds: 8, answersPerSecond: answered2xx / 9, persistedPerSecond, statuses: { '202': answered2xx }, p50: 20, p99, answeredNeverStored: never, answered2xx, cpuMsPerObject: 3, peakRssMiB: 150 };
}

function receiver(id: string, persisted: number[], extra: Partial<ReceiverResult> = {}): ReceiverResult {
  return {
    id,
    label: id,
    idleRssMiB: 100,
    reject: [{ answersPerSecond: 1000, statuses: { '401': 6000 }, p50: 1, p99: 5 }],
    accept: persisted.map((p) => accept(p, 1000, 0)),
    ...extra,
  };
}

describe('bench: the peers comparison summary', () => {
  it('compares medians over rounds as ours / peer', () => {
    const c: PeerComparison = { config, receivers: [receiver('ours', [100, 300, 200]), receiver('tekton', [5, 7, 6])] };
    const { rows } = summarizeComparison(c);
    const stored = rows.find((r) => r.name.startsWith('Accept path: objects stored'))!;
    expect(stored.ours).to.equal(200);
    expect(stored.peers[0]!.value).to.equal(6);
    expect(stored.peers[0]!.ratio).to.be.closeTo(200 / 6, 1e-9);
  });

  it('adds up the 2xx answers that never became objects over all rounds, out of all 2xx answers', () => {
    const tekton = receiver('tekton', [], { accept: [accept(6, 3000, 2500), accept(6, 3000, 2400)] });
    const { rows } = peerTable({ config, receivers: [receiver('ours', [200]), tekton] });
    const never = rows.find((r) => r[0]!.startsWith('2xx answers that never became objects'))!;
    expect(never[2]).to.equal('0');
    expect(never[3]).to.equal('4,900 (of 6,000)');
  });

  it('keeps a row for a peer that could not run, with its reason and no ratio', () => {
    const c: PeerComparison = { config, receivers: [receiver('ours', [200]), { id: 'flux', label: 'Flux', failure: 'build failed: no module', reject: [], accept: [] }] };
    const { header, rows, failures } = peerTable(c);
    expect(header).to.include('Flux');
    for (const row of rows) expect(row.slice(3)).to.deep.equal(['—', '—']);
    expect(failures).to.deep.equal(['Flux: build failed: no module']);
  });

  it('says which statuses each receiver answered the reject path with', () => {
    const tekton = receiver('tekton', [6], { reject: [{ answersPerSecond: 465, statuses: { '202': 2790 }, p50: 20, p99: 200 }] });
    const { rows } = peerTable({ config, receivers: [receiver('ours', [200]), tekton] });
    expect(rows[0]![2]).to.equal('1,000 (401)');
    expect(rows[0]![3]).to.equal('465 (answered 202)');
  });
});

describe('bench: the peers load and manifests', () => {
  it('sends push bodies of exactly 1 KiB, distinct per delivery', () => {
    const a = githubPushBody('a');
    expect(Buffer.byteLength(a)).to.equal(1024);
    expect(JSON.parse(a).after).to.not.equal(JSON.parse(githubPushBody('b')).after);
  });

  it('fills every placeholder of a manifest, and refuses one without a value', () => {
    expect(fillTemplate('name: ${NAMESPACE}\nurl: $(body.after)', { NAMESPACE: 'bench-flux' })).to.equal('name: bench-flux\nurl: $(body.after)');
    expect(() => fillTemplate('token: ${SIGNING_SECRET}', {})).to.throw(/SIGNING_SECRET/);
  });
});
