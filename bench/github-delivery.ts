// The load the peers comparison sends to every receiver alike: GitHub push deliveries of exactly
// 1 KiB, signed as GitHub signs (X-Hub-Signature-256 over the raw body), with the headers GitHub
// sends (X-GitHub-Event, X-GitHub-Delivery). Ours, Tekton's GitHub interceptor and Flux's github
// Receiver all check the same signature with the same secret.
import { createHash } from 'node:crypto';

export const GITHUB_BODY_BYTES = 1024;

/** A push event's essentials, padded to `bytes` bytes of JSON; `id` makes every delivery distinct. */
export function githubPushBody(id: string, bytes = GITHUB_BODY_BYTES): string {
  const after = createHash('sha1').update(id).digest('hex');
  const event = {
    ref: 'refs/heads/main',
    before: '0'.repeat(40),
    after,
    repository: { full_name: 'example/app', clone_url: 'https://github.com/example/app.git' },
    pusher: { name: 'bench', email: 'bench@example.com' },
    head_commit: { id: after, message: `bench delivery ${id}`, timestamp: '2026-12-01T00:00:00Z' },
    padding: '',
  };
  const bare = JSON.stringify(event).length;
  if (bare > bytes) throw new Error(`a push body needs at least ${bare} bytes`);
  event.padding = 'x'.repeat(bytes - bare);
  return JSON.stringify(event);
}

/** The headers GitHub adds besides its signature. */
export function githubEventHeaders(deliveryId: string): Record<string, string> {
  return { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': deliveryId, 'user-agent': 'GitHub-Hookshot/bench' };
}

/** The reject path's request: a push with a well-formed but wrong signature. */
export function badlySignedGithubPush(): { body: string; headers: Record<string, string> } {
  return {
    body: githubPushBody('bench-reject'),
    headers: { ...githubEventHeaders('00000000-0000-0000-0000-000000000000'), 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` },
  };
}
