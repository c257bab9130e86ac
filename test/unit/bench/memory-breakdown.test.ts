// The bench's memory breakdown, on a real process: a child holding 20,000 objects of a class of
// its own and a secret string is asked for a heap snapshot by signal, as the bench asks the operator.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { heapSnapshotFlags, memoryBreakdown } from '../../../bench/memory-breakdown.ts';

const SECRET = 'whsec_do-not-print-me-0123456789';

const CHILD = `
class BreakdownMarker { constructor(i) { this.i = i; this.label = 'm'; } }
globalThis.kept = Array.from({ length: 20000 }, (_, i) => new BreakdownMarker(i));
globalThis.secret = process.argv[1];
console.log('ready');
setInterval(() => {}, 1000);
`;

describe('bench memory breakdown', function () {
  this.timeout(60_000);

  it('sums a live process\'s heap snapshot by type and constructor, prints no string values, and leaves no snapshot behind', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'heap-breakdown-'));
    const child = spawn(process.execPath, [...heapSnapshotFlags(dir), '-e', CHILD, SECRET], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
      });
      const b = await memoryBreakdown(child.pid!, undefined, dir);
      const markers = b.heapTopGroups.find((g) => g.name === 'object: BreakdownMarker');
      expect(markers, JSON.stringify(b.heapTopGroups)).to.not.equal(undefined);
      expect(markers!.count).to.equal(20_000);
      // The groups are a part of the whole, the types add up to it, and the heap fits in RSS.
      const typesMiB = b.heapByType.reduce((sum, g) => sum + g.MiB, 0);
      expect(typesMiB).to.be.closeTo(b.heapSnapshotMiB, 0.1 * b.heapByType.length);
      expect(b.heapSnapshotMiB).to.be.greaterThan(markers!.MiB).and.lessThan(b.rssMiB);
      expect(b.rssAnonMiB + b.rssFileMiB).to.be.closeTo(b.rssMiB, 1);
      expect(JSON.stringify(b)).to.not.include(SECRET);
      expect(readdirSync(dir)).to.deep.equal([]);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
