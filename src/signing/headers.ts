// Header names of every signature scheme, lowercased as Node.js presents incoming headers (and as
// HTTP/2 requires), shared by the signer and the verifiers so the two cannot drift.

export const SIGNATURE_HEADERS = {
  planasonixSignature: 'x-planasonix-signature',
  planasonixDelivery: 'x-planasonix-delivery',
  webhookId: 'webhook-id',
  webhookTimestamp: 'webhook-timestamp',
  webhookSignature: 'webhook-signature',
  githubSignature: 'x-hub-signature-256',
  githubDelivery: 'x-github-delivery',
  authorization: 'authorization',
} as const;
