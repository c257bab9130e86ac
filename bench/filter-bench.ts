// Figure 2e/2f, run as its own process like figure 2: what a spec.filter costs per delivery. A
// typical filter (GitHub push to main) over a 1 KiB and a 64 KiB JSON body, including the one
// conversion of the delivery into CEL values, against the planasonix verifier on the same body
// (the work every delivery already pays); and the longest one evaluation runs under the default
// budget (the worst a filter can block the event loop).
// Prints one JSON line on stdout.
import { randomBytes } from 'node:crypto';
import { compileFilter, prepareFilterInput, type CompiledFilter } from '../src/triggers/filter/compile-filter.ts';
import { verifiers } from '../src/triggers/signature-verifiers/index.ts';
import { signRequest } from '../src/signing/sign-request.ts';
import { median } from './stats.ts';

const ROUNDS = 7;
const TYPICAL = 'body.ref == "refs/heads/main" && headers["x-github-event"] == "push" && body.commits.exists(c, c.modified.exists(f, f.startsWith("src/")))';
// The most a filter can spend: a loop whose steps use up the units, and one slow string call on
// the longest string the units allow (each stopped by the units or the clock, whichever is first).
const WORST: readonly { expression: string; body: unknown }[] = [
  { expression: 'body.items.exists(x, x < 0.0 && x > 1.0 || x == -1.0)', body: { items: Array.from({ length: 6_000 }, (_, i) => i) } },
  { expression: 'body.s.lowerAscii() == "x"', body: { s: 'A'.repeat(300 * 1024) } },
];

function compiled(expression: string): CompiledFilter {
  const f = compileFilter(expression);
  if ('error' in f) throw new Error(f.error);
  return f;
}

/** A push-like payload of about `size` bytes: 20 commits, padding in a message field. */
function pushBody(size: number): Buffer {
  const commits = Array.from({ length: 20 }, (_, i) => ({ id: `c${i}`, modified: ['README.md', i === 19 ? 'src/app.ts' : 'docs/x.md'] }));
  const base = { ref: 'refs/heads/main', commits, message: '' };
  const pad = Math.max(0, size - JSON.stringify(base).length);
  return Buffer.from(JSON.stringify({ ...base, message: 'x'.repeat(pad) }));
}

function timePerCall(iterations: number, call: () => boolean): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) if (!call()) throw new Error('a timed call did not take the accepting path');
  return Number(process.hrtime.bigint() - start) / 1000 / iterations;
}

function measureSize(size: number): Record<string, number> {
  const body = pushBody(size);
  const filter = compiled(TYPICAL);
  const headers = { 'x-github-event': 'push', 'content-type': 'application/json' };
  const secret = `pxs_${randomBytes(32).toString('base64url')}`;
  const signed = signRequest('planasonix', { secret, body, timestampSeconds: Math.floor(Date.now() / 1000), deliveryId: 'bench' });
  const variants: Record<string, () => boolean> = {
    // What the receiver does per delivery: JSON.parse is paid anyway when params read the body.
    'filter (prepare + evaluate)': () => {
      const input = prepareFilterInput({ body: JSON.parse(body.toString()), headers, query: {}, trigger: { name: 't', namespace: 'n' }, cloudevent: {} });
      return filter.evaluate(input).matched;
    },
    'planasonix verifier': () => verifiers.planasonix.verify({ rawBody: body, headers: signed, nowMs: Date.now() }, { secrets: [secret], toleranceSeconds: 300 }).ok,
  };
  const iterations = size > 4096 ? 200 : 4000;
  for (const call of Object.values(variants)) timePerCall(Math.ceil(iterations / 4), call);
  const rounds = new Map<string, number[]>(Object.keys(variants).map((k) => [k, []]));
  for (let r = 0; r < ROUNDS; r++) for (const [name, call] of Object.entries(variants)) rounds.get(name)!.push(timePerCall(iterations, call));
  return Object.fromEntries([...rounds].map(([name, us]) => [name, median(us)]));
}

/** The longest one evaluation holds the event loop under the default budget: the worst median. */
function measureStopped(): number {
  return Math.max(
    ...WORST.map(({ expression, body }) => {
      const filter = compiled(expression);
      const input = prepareFilterInput({ body, headers: {}, query: {}, trigger: { name: 't', namespace: 'n' }, cloudevent: {} });
      const ms: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const start = process.hrtime.bigint();
        filter.evaluate(input);
        ms.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      return median(ms);
    }),
  );
}

const result = { rounds: ROUNDS, sizes: { '1KiB': measureSize(1024), '64KiB': measureSize(64 * 1024) }, stoppedMs: measureStopped() };
process.stdout.write(`${JSON.stringify(result)}\n`);
