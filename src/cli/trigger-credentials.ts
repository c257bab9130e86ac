// What `sign` and `send` share: reading a trigger's URL and signing secret through the user's own
// kubeconfig (so RBAC decides who may sign), signing a payload with the trigger's scheme, and
// rendering the request as a copy-paste curl command.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { V1Secret } from '@kubernetes/client-node';
import type { AuthScheme, WebhookTrigger } from '../api/types.ts';
import { WEBHOOK_SECRET_KEYS } from '../api/constants.ts';
import type { KubeClient } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { RESOURCES } from '../kube/resources.ts';
import { SIGNATURE_HEADERS } from '../signing/headers.ts';
import { parseEd25519PrivateKey } from '../signing/public-key.ts';
import { signRequest } from '../signing/sign-request.ts';
import { resolveHmac, type ResolvedHmac } from '../triggers/compile-hmac.ts';
import type { TriggerProblem } from '../triggers/compiled-trigger.ts';
import { webhookSecretName } from '../api/webhook-secret.ts';
import { DEFAULT_SECRET_KEY } from '../api/constants.ts';
import { CommandError, UsageError, describeKubeFailure, stringFlag, type FlagSpec, type FlagValues } from './cli-args.ts';

/** Flags of both `sign` and `send`. */
export const SIGNING_FLAGS = {
  trigger: { type: 'string' },
  data: { type: 'string', short: 'd' },
  'url-override': { type: 'string' },
  header: { type: 'string', short: 'H', multiple: true },
  'delivery-id': { type: 'string' },
  'private-key': { type: 'string' },
} as const satisfies Record<string, FlagSpec>;

export const SIGNING_FLAGS_HELP = `  --trigger NAME          the WebhookTrigger (required)
  -n, --namespace NS      its namespace (default: the kubeconfig context's, else "default")
  --context NAME          the kubeconfig context to use
  -d, --data FILE|-       the JSON payload to sign, or - for standard input (required)
  --url-override BASE     send to BASE instead of the URL's origin, keeping the webhook path
                          (for make dev: --url-override "$RECEIVER_URL")
  -H, --header 'N: V'     an extra request header (repeatable), e.g. -H 'X-Requested-By: billing'
  --delivery-id ID        the delivery ID header, so that a retry is recognised as the same delivery
  --private-key FILE      an Ed25519 private key (PEM): adds a v1a signature (planasonix, standard-webhooks),
                          and a v2a with a planasonix delivery ID
  --kubeconfig PATH       the kubeconfig to read the trigger with (default: $KUBECONFIG, ~/.kube/config)
  -h, --help              show this help`;

export interface TriggerCredentials {
  namespace: string;
  name: string;
  scheme: AuthScheme;
  /** The capability URL, possibly with its origin replaced by --url-override. */
  url: string;
  /** The shared secret (or bearer token); undefined for scheme none, or when the trigger uses a public key only. */
  secret: string | undefined;
  /** Where the secret lives, so a command can refer to it without printing it. */
  secretRef: { name: string; key: string } | undefined;
  /** The trigger's tolerance as written (e.g. "5m"), for telling how long a signature stays valid. */
  tolerance: string;
  /** scheme hmac: the trigger's spec.auth.hmac, resolved, so the CLI signs as the sender would. */
  hmac?: ResolvedHmac;
  /** spec.auth.signedDeliveryIdOnly: every delivery needs a delivery ID, which the signature covers. */
  signedDeliveryIdOnly?: boolean;
}

/** Reads the trigger, its generated `<trigger>-webhook` Secret and, if it names one, the user's Secret. */
export async function loadTriggerCredentials(client: KubeClient, namespace: string, name: string, urlOverride?: string): Promise<TriggerCredentials> {
  const where = `namespace "${namespace}"`;
  let trigger: WebhookTrigger;
  try {
    trigger = await client.get<WebhookTrigger>(RESOURCES.webhookTriggers, namespace, name);
  } catch (e) {
    if (isNotFound(e)) throw new CommandError(`WebhookTrigger "${name}" not found in ${where}`);
    throw describeKubeFailure(e, `reading WebhookTrigger "${name}"`, client);
  }
  const auth = trigger.spec.auth ?? {};
  const scheme: AuthScheme = auth.scheme ?? 'planasonix';
  const generatedName = webhookSecretName(name);
  const generated = await readSecret(client, namespace, generatedName, `the trigger has no URL yet; see 'planasonix status --trigger ${name} -n ${namespace}'`);
  const urlText = secretText(generated, WEBHOOK_SECRET_KEYS.url);
  if (!urlText) throw new CommandError(`Secret "${generatedName}" has no key "${WEBHOOK_SECRET_KEYS.url}": the operator has not written the trigger's URL yet`);
  const path = secretText(generated, WEBHOOK_SECRET_KEYS.path) ?? new URL(urlText).pathname;

  let hmac: ResolvedHmac | undefined;
  if (scheme === 'hmac') {
    const problems: TriggerProblem[] = [];
    hmac = resolveHmac(auth.hmac, problems);
    if (!hmac || problems.length > 0) throw new CommandError(`WebhookTrigger "${name}": ${problems.map((p) => p.message).join('; ')}`);
  }
  let secret: string | undefined;
  let secretRef: { name: string; key: string } | undefined;
  if (scheme !== 'none') {
    if (auth.secretRef) {
      secretRef = { name: auth.secretRef.name, key: auth.secretRef.key ?? DEFAULT_SECRET_KEY };
      const user = await readSecret(client, namespace, secretRef.name, 'it is named by spec.auth.secretRef');
      secret = secretText(user, secretRef.key);
      if (secret === undefined) throw new CommandError(`Secret "${secretRef.name}" has no key "${secretRef.key}" (spec.auth.secretRef)`);
    } else {
      secretRef = { name: generatedName, key: WEBHOOK_SECRET_KEYS.signingSecret };
      secret = secretText(generated, secretRef.key);
      if (secret === undefined) secretRef = undefined;
    }
  }
  return {
    namespace,
    name,
    scheme,
    url: urlOverride === undefined ? urlText : overrideOrigin(urlOverride, path),
    secret,
    secretRef,
    tolerance: auth.tolerance ?? '5m',
    ...(hmac ? { hmac } : {}),
    ...(auth.signedDeliveryIdOnly ? { signedDeliveryIdOnly: true } : {}),
  };
}

/** BASE plus the webhook's path: BASE may carry a path prefix of its own (a proxy's, for example). */
export function overrideOrigin(base: string, path: string): string {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new UsageError(`--url-override: "${base}" is not an absolute URL (for example http://127.0.0.1:8080)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('--url-override: the URL must use http or https');
  if (url.search || url.hash) throw new UsageError('--url-override: give a base URL without a query or a fragment');
  return url.origin + url.pathname.replace(/\/+$/, '') + path;
}

/** The payload bytes: a file, or standard input for "-". The signature covers exactly these bytes. */
export function readPayload(source: string): Buffer {
  try {
    return readFileSync(source === '-' ? 0 : source);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new CommandError(`cannot read ${source === '-' ? 'standard input' : source}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

/** Parses repeated `-H 'Name: value'` into [name, value] pairs. */
export function parseHeaders(values: FlagValues): [string, string][] {
  const raw = values.header;
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : [];
  return list.map((h) => {
    const colon = h.indexOf(':');
    const name = colon > 0 ? h.slice(0, colon).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new UsageError(`--header "${h}" is not of the form 'Name: value'`);
    return [name, h.slice(colon + 1).trim()];
  });
}

export interface SignedRequest {
  url: string;
  /** In order: content-type, the signature headers, then the user's headers (lowercase names for ours). */
  headers: [string, string][];
  body: Buffer;
}

/** Signs body with the trigger's scheme and returns the complete request. */
export function signDelivery(creds: TriggerCredentials, body: Buffer, values: FlagValues): SignedRequest {
  // A trigger that takes only signatures covering the ID gets a fresh one when none was given.
  const deliveryId = stringFlag(values, 'delivery-id') ?? (creds.signedDeliveryIdOnly ? `dlv_${randomUUID()}` : undefined);
  const keyFile = stringFlag(values, 'private-key');
  const privateKey = keyFile ? parseEd25519PrivateKey(readKeyFile(keyFile)) : undefined;
  if (privateKey && creds.scheme !== 'planasonix' && creds.scheme !== 'standard-webhooks') {
    throw new UsageError(`--private-key: the ${creds.scheme} scheme has no public-key signatures`);
  }
  if (creds.scheme !== 'none' && creds.secret === undefined && !privateKey) {
    throw new CommandError(`WebhookTrigger "${creds.name}" has no signing secret yet${creds.scheme === 'planasonix' || creds.scheme === 'standard-webhooks' ? ' (give --private-key if it verifies v1a signatures only)' : ''}`);
  }
  let signature: Record<string, string>;
  try {
    signature = signRequest(creds.scheme, {
      body,
      ...(creds.secret !== undefined ? { secret: creds.secret } : {}),
      ...(privateKey ? { privateKey } : {}),
      ...(deliveryId !== undefined ? { deliveryId } : {}),
      ...(creds.hmac ? { hmac: creds.hmac } : {}),
    });
  } catch (e) {
    // The signer's messages never contain the secret; they say what is wrong with it.
    throw new CommandError(`cannot sign for WebhookTrigger "${creds.name}": ${(e as Error).message}`);
  }
  const user = parseHeaders(values);
  const userNames = new Set(user.map(([n]) => n.toLowerCase()));
  const headers: [string, string][] = [];
  if (!userNames.has('content-type')) headers.push(['content-type', 'application/json']);
  headers.push(...Object.entries(signature), ...user);
  return { url: creds.url, headers, body };
}

function readKeyFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new CommandError(`cannot read --private-key ${file}: ${(e as Error).message}`);
  }
}

/**
 * A curl command that sends exactly the signed request. The payload is referenced as @FILE (or
 * inlined when it came from standard input). A bearer token is the secret itself, so it is never
 * printed: the command reads it from its Secret with kubectl when it runs.
 */
export function renderCurl(request: SignedRequest, creds: TriggerCredentials, dataSource: string, opts: { kubeconfig?: string; context?: string } = {}): string {
  const parts = ['curl', '-sS', '-X', 'POST', singleQuote(request.url)];
  for (const [name, value] of request.headers) {
    if (creds.scheme === 'bearer' && name === SIGNATURE_HEADERS.authorization && creds.secretRef) {
      parts.push('-H', `"${name}: Bearer $(${tokenCommand(creds, opts)})"`);
    } else {
      parts.push('-H', singleQuote(`${name}: ${value}`));
    }
  }
  parts.push('--data-binary', dataSource === '-' ? inlineData(request.body) : shellWord(`@${dataSource}`));
  return parts.join(' ');
}

function tokenCommand(creds: TriggerCredentials, { kubeconfig, context }: { kubeconfig?: string; context?: string }): string {
  const ref = creds.secretRef!;
  // Secret names and keys are limited to [-._a-zA-Z0-9], so they are safe inside the template.
  return [
    'kubectl',
    ...(kubeconfig ? ['--kubeconfig', shellWord(kubeconfig)] : []),
    ...(context ? ['--context', shellWord(context)] : []),
    'get',
    'secret',
    ref.name,
    '-n',
    creds.namespace,
    '-o',
    `go-template='{{index .data "${ref.key}" | base64decode}}'`,
  ].join(' ');
}

function inlineData(body: Buffer): string {
  const text = body.toString('utf8');
  // A shell string cannot carry every byte; refuse rather than print a command whose signature would not match.
  if (!Buffer.from(text, 'utf8').equals(body) || text.includes('\0')) {
    throw new CommandError('the payload from standard input is not text; write it to a file and use --data FILE');
  }
  return singleQuote(text);
}

/** Quotes a string for POSIX shells: single quotes, with each ' written as '\''. */
export function singleQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Leaves a plain word alone (so `@deploy/x.json` stays readable), quotes anything else. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : singleQuote(s);
}

async function readSecret(client: KubeClient, namespace: string, name: string, hint: string): Promise<V1Secret> {
  try {
    return await client.get<V1Secret>(RESOURCES.secrets, namespace, name);
  } catch (e) {
    if (isNotFound(e)) throw new CommandError(`Secret "${name}" not found in namespace "${namespace}" (${hint})`);
    throw describeKubeFailure(e, `reading Secret "${name}"`, client);
  }
}

function secretText(secret: V1Secret, key: string): string | undefined {
  const v = secret.data?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
}
