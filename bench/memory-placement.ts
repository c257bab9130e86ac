// Does this machine make the same memory-bound work slower in some processes than in others, for
// the life of each? (docs/benchmarks.md, Findings, figures 4e/4j.) Each process chases pointers through
// 512 cache lines, one per 4 KiB page of a 64 MiB buffer at the same offset in each page, in the
// same order in every process; only the physical pages the kernel gives each process differ.
// Three passes per process, several processes: `node bench/memory-placement.ts [processes]`. Run it
// with ASLR off as well (`setarch -R`): the virtual addresses are then the same in every process.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const LINES = 512;
const BUFFER_BYTES = 64 * 2 ** 20;
const STEPS = 50_000_000;

function chase(): number[] {
  const words = new Int32Array(BUFFER_BYTES / 4);
  const strideWords = BUFFER_BYTES / 4 / LINES; // one line per 128 KiB: the same page offset each time
  // A fixed pseudo-random cycle (a linear congruential shuffle), so every process chases alike.
  const order = Array.from({ length: LINES }, (_, i) => i);
  let seed = 42;
  for (let i = LINES - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const j = seed % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (let i = 0; i < LINES; i++) words[order[i]! * strideWords] = order[(i + 1) % LINES]! * strideWords;
  const passes: number[] = [];
  for (let pass = 0; pass < 3; pass++) {
    let at = order[0]! * strideWords;
    const started = process.hrtime.bigint();
    for (let s = 0; s < STEPS; s++) at = words[at]!;
    if (at === -1) throw new Error('unreachable'); // reads the chase's result, so it cannot be skipped
    passes.push(Number(process.hrtime.bigint() - started) / STEPS);
  }
  return passes;
}

if (process.argv[2] === 'child') {
  process.stdout.write(JSON.stringify(chase()));
} else {
  const processes = Number(process.argv[2] ?? 10);
  const self = fileURLToPath(import.meta.url);
  const results = Array.from({ length: processes }, () => JSON.parse(execFileSync(process.execPath, [self, 'child'], { encoding: 'utf8' })) as number[]);
  results.sort((a, b) => a[0]! - b[0]!);
  for (const r of results) console.log(r.map((ns) => ns.toFixed(2)).join(' '), 'ns per step');
  const firsts = results.map((r) => r[0]!);
  const within = Math.max(...results.map((r) => (Math.max(...r) - Math.min(...r)) / Math.min(...r)));
  console.log(`between processes: ${firsts[0]!.toFixed(2)}–${firsts.at(-1)!.toFixed(2)} ns (${((firsts.at(-1)! / firsts[0]! - 1) * 100).toFixed(0)}% apart); within one process: at most ${(within * 100).toFixed(1)}%`);
}
