// Prints microseconds per verification (ours against the standardwebhooks package) to inform the
// receiver benchmark. Timings are printed, never asserted: they depend on the machine. What is
// asserted is that every timed verification succeeded, so the figures measure the real path.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { Webhook } from 'standardwebhooks';
import type { AuthScheme } from '../../../../src/api/types.ts';
import { verifiers } from '../../../../src/triggers/signature-verifiers/index.ts';
import { generateSigningSecret } from '../../../../src/signing/secret-format.ts';
import { signRequest } from '../../../../src/signing/sign-request.ts';

function microsecondsPer(iterations: number, run: () => boolean): { us: number; allOk: boolean } {
  let allOk = true;
  for (let i = 0; i < Math.min(200, iterations); i++) allOk = run() && allOk; // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) allOk = run() && allOk;
  return { us: Number(process.hrtime.bigint() - start) / 1000 / iterations, allOk };
}

describe('verification speed (printed, not asserted)', () => {
  for (const size of [1024, 64 * 1024]) {
    it(`measures ${size / 1024} KiB bodies`, () => {
      const iterations = size > 1024 ? 1000 : 5000;
      // JSON-safe text: the reference package decodes the body to a string before hashing.
      const body = Buffer.from(randomBytes(size).toString('base64').slice(0, size));
      const rows: string[] = [];
      let allOk = true;
      const nowSeconds = () => Math.floor(Date.now() / 1000);
      for (const scheme of ['standard-webhooks', 'planasonix', 'github', 'bearer'] as Exclude<AuthScheme, 'hmac'>[]) {
        const current = generateSigningSecret(scheme);
        const previous = generateSigningSecret(scheme);
        const headers = signRequest(scheme, { secret: current, body, timestampSeconds: nowSeconds(), deliveryId: 'msg_bench' });
        const keys = { secrets: [previous, current], toleranceSeconds: 300 };
        // Two secrets, the match on the second: the rotation-overlap worst case.
        const m = microsecondsPer(iterations, () => verifiers[scheme].verify({ rawBody: body, headers, nowMs: Date.now() }, keys).ok);
        allOk &&= m.allOk;
        rows.push(`${scheme.padEnd(18)} ours (2 secrets)       ${m.us.toFixed(1).padStart(8)} µs`);
        if (scheme === 'standard-webhooks') {
          const one = microsecondsPer(iterations, () => verifiers[scheme].verify({ rawBody: body, headers, nowMs: Date.now() }, { secrets: [current], toleranceSeconds: 300 }).ok);
          const webhook = new Webhook(current);
          const text = body.toString();
          const ref = microsecondsPer(iterations, () => {
            webhook.verify(text, headers, { jsonParse: false });
            return true;
          });
          allOk &&= one.allOk && ref.allOk;
          rows.push(`${scheme.padEnd(18)} ours (1 secret)        ${one.us.toFixed(1).padStart(8)} µs`);
          rows.push(`${scheme.padEnd(18)} standardwebhooks pkg   ${ref.us.toFixed(1).padStart(8)} µs`);
        }
      }
      console.log(`      ${size / 1024} KiB body:\n` + rows.map((r) => `        ${r}`).join('\n'));
      expect(allOk).to.equal(true);
    });
  }
});
