// Figure 2, run as its own process so that nothing else shares its event loop: microseconds per
// signature verification, ours (standard-webhooks and planasonix verifiers, as the receiver calls
// them) against the `standardwebhooks` package verifying the same message. Every timed call must
// succeed, so the figures measure the accepting path, which is the expensive one.
// Prints one JSON line on stdout.
import { Webhook } from 'standardwebhooks';
import type { AuthScheme } from '../src/api/types.ts';
import { verifiers } from '../src/triggers/signature-verifiers/index.ts';
import { generateSigningSecret } from '../src/signing/secret-format.ts';
import { signRequest } from '../src/signing/sign-request.ts';
import { median } from './stats.ts';

const ROUNDS = 7;

/** A JSON body of exactly `size` bytes, since the package decodes (and by default parses) it. */
function jsonBodyOfSize(size: number): Buffer {
  const head = '{"event":"export.completed","export_id":"exp_8f3c21","padding":"';
  const tail = '"}';
  return Buffer.from(head + 'x'.repeat(Math.max(0, size - head.length - tail.length)) + tail);
}

function timePerCall(iterations: number, call: () => boolean): { us: number; ok: boolean } {
  let ok = true;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) ok = call() && ok;
  return { us: Number(process.hrtime.bigint() - start) / 1000 / iterations, ok };
}

interface Variant {
  name: string;
  call: () => boolean;
}

function measureSize(size: number): Record<string, number> {
  const body = jsonBodyOfSize(size);
  const text = body.toString();
  const t = Math.floor(Date.now() / 1000);
  const sw = generateSigningSecret('standard-webhooks');
  const swPrevious = generateSigningSecret('standard-webhooks');
  const px = generateSigningSecret('planasonix');
  const swHeaders = signRequest('standard-webhooks', { secret: sw, body, timestampSeconds: t, deliveryId: 'msg_bench_0001' });
  const pxHeaders = signRequest('planasonix', { secret: px, body, timestampSeconds: t, deliveryId: 'msg_bench_0001' });
  const verify = (scheme: Exclude<AuthScheme, 'hmac'>, headers: Record<string, string>, secrets: string[]) => () =>
    verifiers[scheme].verify({ rawBody: body, headers, nowMs: Date.now() }, { secrets, toleranceSeconds: 300 }).ok;
  const webhook = new Webhook(sw);
  const variants: Variant[] = [
    { name: 'ours standard-webhooks', call: verify('standard-webhooks', swHeaders, [sw]) },
    { name: 'ours planasonix', call: verify('planasonix', pxHeaders, [px]) },
    // The rotation overlap: two secrets, the match on the second. Shown, no target.
    { name: 'ours standard-webhooks, 2 secrets', call: verify('standard-webhooks', swHeaders, [swPrevious, sw]) },
    {
      name: 'standardwebhooks package',
      call: () => {
        webhook.verify(text, swHeaders); // throws unless verified
        return true;
      },
    },
    {
      name: 'standardwebhooks package, jsonParse false',
      call: () => {
        webhook.verify(text, swHeaders, { jsonParse: false });
        return true;
      },
    },
  ];
  // About 40 ms per variant and round whatever the body size.
  const iterations = size > 4096 ? 150 : 4000;
  for (const v of variants) timePerCall(Math.ceil(iterations / 4), v.call); // warm-up: JIT and key caches
  const rounds = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    // Interleaved, so that a slow moment of the machine hits every variant alike.
    for (const v of variants) {
      const m = timePerCall(iterations, v.call);
      if (!m.ok) throw new Error(`${v.name}: a verification failed; the figure would not measure the accepting path`);
      rounds.get(v.name)!.push(m.us);
    }
  }
  return Object.fromEntries([...rounds].map(([name, us]) => [name, median(us)]));
}

const result = { rounds: ROUNDS, sizes: { '1KiB': measureSize(1024), '64KiB': measureSize(64 * 1024) } };
process.stdout.write(`${JSON.stringify(result)}\n`);
