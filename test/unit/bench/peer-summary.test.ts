import { expect } from 'chai';
import { peerTable, summarizeComparison, type AcceptRound, type PeerComparison, type ReceiverResult } from '../../../bench/peer-summary.ts';
import { githubPushBody } from '../../../bench/github-delivery.ts';
import { fillTemplate } from '../../../bench/peers.ts';
import { longAcceptSection, peersSection } from '../../../bench/report.ts';

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

  it('charges the API server and etcd CPU of a timed run to the objects stored in it', () => {
    const round = { ...accept(100, 900, 0), otherCpuSeconds: { 'kube-apiserver': 1.6, 'etcd (in controlplane up)': 0.4, 'other receivers (idle)': 3 } };
    const c: PeerComparison = { config, receivers: [receiver('ours', [], { accept: [round] }), receiver('flux', [50])] };
    const row = summarizeComparison(c).rows.find((r) => r.name.startsWith('API server and etcd CPU'))!;
    expect(row.ours).to.be.closeTo(2.5, 1e-9); // 2 CPU s over 100/s × 8 s
    expect(row.peers[0]!.value).to.equal(undefined); // not recorded for that peer: no figure, not a zero
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

describe('bench: the report sections of issue 16', () => {
  it('renders the peers table with a line per peer that was not measured, and nothing without a comparison', () => {
    const c: PeerComparison = { config, receivers: [receiver('ours', [200]), { id: 'tekton', label: 'Tekton', failure: 'cannot run: port 8443 is taken', reject: [], accept: [] }] };
    const md = peersSection({ peers: c });
    expect(md).to.match(/^## 6 — Against the peers/);
    expect(md).to.include('| Accept path: objects stored in the API server per second (/s) | higher | 200 | — | — |');
    expect(md).to.include('- Tekton: cannot run: port 8443 is taken');
    expect(peersSection({})).to.equal('');
  });

  it('summarizes the long accept run per load, first half against second half, as a ratio to the bare client', () => {
    const chunk = (stored: number, runsPerSecond: number, receiverCpu: number) => ({
      stored, runs: runsPerSecond * 5, runsPerSecond, p50: 30, p99: 150, rssMiB: 150, heapUsedMiB: 40, gcSeconds: { minor: 0.2, major: 0.05 }, cpuSeconds: { receiver: receiverCpu },
    });
    const md = longAcceptSection({
      longAccept: {
        runs: 4000,
        chunkSeconds: 5,
        chunks: { bare: [chunk(2000, 400, 0.4), chunk(4000, 400, 0.4)], github: [chunk(1000, 200, 1), chunk(3000, 300, 1.5)] },
      },
    });
    expect(md).to.include('| github | 200 | 300 | 150 | 0.63 | 1 |');
    expect(md).to.include('| github | 3,000 | 300 | 30 | 150 | 1 | 150 | 40 | 200 / 50 |');
    expect(longAcceptSection({})).to.equal('');
  });
});
