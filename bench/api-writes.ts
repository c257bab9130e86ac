// What the operator writes to the API server, from its own planasonix_kube_requests_total: figure 5e
// divides the writes made while deliveries went end to end by the deliveries, and
// test/integration/operator/kube-requests.test.ts reads a single delivery's the same way.

/** Requests so far, by "verb resource[/subresource] code". */
export type RequestCounts = Map<string, number>;

const SAMPLE = /^planasonix_kube_requests_total\{([^}]*)\} ([0-9.e+]+)$/gm;
const LABEL = /(\w+)="([^"]*)"/g;

export function parseRequestCounts(scrape: string): RequestCounts {
  const counts: RequestCounts = new Map();
  for (const [, labelText, value] of scrape.matchAll(SAMPLE)) {
    const labels = Object.fromEntries([...labelText!.matchAll(LABEL)].map(([, k, v]) => [k!, v!]));
    const resource = labels.subresource ? `${labels.resource}/${labels.subresource}` : labels.resource;
    counts.set(`${labels.verb} ${resource} ${labels.code}`, Number(value));
  }
  return counts;
}

export async function requestCounts(metricsUrl: string): Promise<RequestCounts> {
  return parseRequestCounts(await (await fetch(`${metricsUrl}/metrics`)).text());
}

const READS = new Set(['get', 'list', 'watch']);

/**
 * The writes between two snapshots, by "verb resource[/subresource] code". Lease renewals are left
 * out: leader election writes on its own clock, whatever the deliveries.
 */
export function writesBetween(before: RequestCounts, after: RequestCounts): Record<string, number> {
  const writes: Record<string, number> = {};
  for (const [key, value] of after) {
    const [verb, resource] = key.split(' ');
    if (READS.has(verb!) || resource === 'leases') continue;
    const delta = value - (before.get(key) ?? 0);
    if (delta > 0) writes[key] = delta;
  }
  return writes;
}

/**
 * The counts once the process has written nothing for quietMs (or after timeoutMs): taken before a
 * measurement, so that what a fresh process writes on its own (its Secrets' URLs, say) is not counted;
 * taken after it, so that the writes trailing the last delivery are.
 */
export async function quietRequestCounts(read: () => Promise<RequestCounts>, opts: { quietMs: number; timeoutMs: number }): Promise<RequestCounts> {
  const writesOf = (counts: RequestCounts) => JSON.stringify(writesBetween(new Map(), counts));
  const deadline = Date.now() + opts.timeoutMs;
  let counts = await read();
  let quietSince = Date.now();
  while (Date.now() < deadline && Date.now() - quietSince < opts.quietMs) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const next = await read();
    if (writesOf(next) !== writesOf(counts)) quietSince = Date.now();
    counts = next;
  }
  return counts;
}
