// Figure 4f, run as its own process: nanoseconds per routing-table look-up with 10 and with 10,000
// compiled routes, the receiver's only per-request work that depends on the number of triggers. The
// HTTP figure 4e measures the same through the whole receiver, where the machine's noise is larger
// than any effect the table could have. Prints one JSON line on stdout.
import type { V1Secret } from '@kubernetes/client-node';
import type { WebhookTrigger } from '../src/api/types.ts';
import { buildWebhookSecret, generateWebhookPath, webhookSecretName } from '../src/api/webhook-secret.ts';
import { RoutingTable } from '../src/receiver/routing-table.ts';
import { generateSigningSecret } from '../src/signing/secret-format.ts';
import { benchTrigger } from './kube.ts';
import { median } from './stats.ts';

const ROUNDS = 7;
const LOOKUPS = 200_000;

function tableWith(count: number): { table: RoutingTable; paths: string[] } {
  const triggers = new Map<string, WebhookTrigger>();
  const secrets = new Map<string, V1Secret>();
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `t-${i}`;
    const trigger: WebhookTrigger = {
      ...benchTrigger('bench', name),
      metadata: { name, namespace: 'bench', uid: `uid-${i}`, generation: 1 },
      status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Serving', message: '', lastTransitionTime: new Date().toISOString() }] },
    };
    const path = generateWebhookPath();
    triggers.set(name, trigger);
    secrets.set(webhookSecretName(name), buildWebhookSecret(trigger, { path, url: `http://127.0.0.1${path}`, signingSecret: generateSigningSecret('planasonix'), currentSince: new Date() }));
    paths.push(path);
  }
  const table = new RoutingTable(
    { trigger: (_ns, name) => triggers.get(name), secret: (_ns, name) => secrets.get(name) },
    { defaultMaxBytes: 1024 * 1024 },
  );
  for (const name of triggers.keys()) table.refreshTrigger('bench', name);
  if (table.size !== count) throw new Error(`expected ${count} routes, compiled ${table.size}`);
  return { table, paths };
}

function nsPerLookup(table: RoutingTable, paths: string[]): number {
  // Paths in a scattered order, each a fresh string as a request's URL brings it (its hash not yet
  // computed), so the look-ups neither walk the table in insertion order nor reuse a cached hash.
  const order = Array.from({ length: LOOKUPS }, (_, i) => Buffer.from(paths[(i * 7919) % paths.length]!).toString());
  let found = 0;
  const start = process.hrtime.bigint();
  for (const path of order) if (table.lookup(path)) found++;
  const ns = Number(process.hrtime.bigint() - start) / LOOKUPS;
  if (found !== LOOKUPS) throw new Error('a look-up missed its route');
  return ns;
}

const small = tableWith(10);
const large = tableWith(10_000);
const rounds = { small: [] as number[], large: [] as number[] };
nsPerLookup(small.table, small.paths); // warm-up
nsPerLookup(large.table, large.paths);
for (let r = 0; r < ROUNDS; r++) {
  rounds.small.push(nsPerLookup(small.table, small.paths));
  rounds.large.push(nsPerLookup(large.table, large.paths));
}
process.stdout.write(`${JSON.stringify({ rounds: ROUNDS, lookups: LOOKUPS, nsAt10: median(rounds.small), nsAt10000: median(rounds.large) })}\n`);
