// Operator configuration from command-line flags and environment variables. The options live in one
// table (OPTIONS) that both the parser and the README's table are built from, so the two cannot drift.
// Precedence: flag, then environment variable, then default.
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { LOG_LEVELS, type LogLevel } from '../observability/logger.ts';
import { parseDuration } from '../util/duration.ts';
import { closestFlag } from '../util/closest-flag.ts';
import { normalizeCidr } from '../util/source-ranges.ts';
import { parseByteQuantity } from '../kube/byte-quantity.ts';

export const COMPONENTS = ['all', 'controllers', 'receiver'] as const;
export type Component = (typeof COMPONENTS)[number];

export const ENV_PREFIX = 'PLANASONIX_';

export interface Config {
  /** Base URL callers use to reach the receiver, without a trailing slash. */
  externalUrl: string;
  webhookPort: number;
  webhookBindAddress: string;
  metricsPort: number;
  healthPort: number;
  /** Namespaces to watch; empty means all. */
  namespaces: string[];
  /** CIDRs of proxies whose X-Forwarded-For is believed; a bare address becomes a /32 or /128. */
  trustedProxies: string[];
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  logLevel: LogLevel;
  /** Set together with tlsKeyFile (or neither): the receiver then serves HTTPS. */
  tlsCertFile: string | undefined;
  tlsKeyFile: string | undefined;
  defaultMaxBodyBytes: number;
  /** Largest payload.maxBytes a trigger may ask for; one asking more is not Ready. */
  maxBodyBytes: number;
  /** Requests in progress at once in the receiver; beyond it, 503 with Retry-After. */
  maxInflightRequests: number;
  /** Request body bytes held at once in the receiver; beyond it, 503 with Retry-After. */
  maxInflightBodyBytes: number;
  /** Largest sum of one delivery's mapped param values. */
  maxParamsBytes: number;
  /** How long a delivery key deduplicates for schemes that sign no timestamp. */
  replayWindowMs: number;
  requestTimeoutMs: number;
  headerTimeoutMs: number;
  components: Component;
  kubeApiTimeoutMs: number;
  statusFlushIntervalMs: number;
}

type Env = Readonly<Record<string, string | undefined>>;

interface OptionSpec<T> {
  flag: string;
  /**
   * The default as text, parsed like any other input; or a function, when it depends on the
   * environment, that also names where the text came from.
   */
  default: string | ((env: Env) => RawValue | undefined);
  /** How the default reads in the documentation, when it is not a plain value. */
  defaultText?: string;
  description: string;
  boolean?: boolean;
  /** Converts the text to the value, or throws an Error whose message says what is wrong. */
  parse: (text: string) => T;
}

/** One row of the configuration table, as documented. */
export interface ConfigOption {
  key: keyof Config;
  flag: string;
  env: string;
  default: string;
  description: string;
}

export class ConfigError extends Error {
  /** Every problem found, each naming its flag. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

// ------------------------------------------------------------------ value parsers

function parseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${quote(text)} is not an absolute URL (for example https://hooks.example.com)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${quote(text)} must use http or https`);
  if (url.username || url.password) throw new Error('the URL must not contain credentials');
  if (url.search || url.hash) throw new Error(`${quote(text)} must not have a query or a fragment`);
  return url.origin + url.pathname.replace(/\/+$/, '');
}

function parsePort(text: string): number {
  const port = /^[0-9]{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 0 && port <= 65535)) {
    // What the kubelet injects for a Service named planasonix-webhook when service links are on.
    const serviceLink = /^(tcp|udp|sctp):\/\//.test(text) ? '; it looks like a Kubernetes Service link variable: set enableServiceLinks: false in the Pod spec' : '';
    throw new Error(`${quote(text)} is not a port number (0-65535; 0 picks a free port)${serviceLink}`);
  }
  return port;
}

function parseIpAddress(text: string): string {
  if (isIP(text) === 0) throw new Error(`${quote(text)} is not an IP address (for example 0.0.0.0 or ::)`);
  return text;
}

function parseList(text: string): string[] {
  return [...new Set(text.split(',').map((s) => s.trim()).filter((s) => s !== ''))];
}

function parseNamespaces(text: string): string[] {
  const names = parseList(text);
  const bad = names.filter((n) => !isDnsLabel(n));
  if (bad.length) throw new Error(`${bad.map(quote).join(', ')} ${bad.length === 1 ? 'is not a namespace name' : 'are not namespace names'}`);
  return names;
}

function parseCidrs(text: string): string[] {
  const cidrs: string[] = [];
  const bad: string[] = [];
  for (const item of parseList(text)) {
    try {
      cidrs.push(normalizeCidr(item));
    } catch {
      bad.push(item);
    }
  }
  if (bad.length) throw new Error(`${bad.map(quote).join(', ')}: not a CIDR (for example 10.0.0.0/8 or 2001:db8::/32)`);
  return cidrs;
}

function parseBoolean(text: string): boolean {
  const lower = text.toLowerCase();
  if (lower === 'true' || lower === '1') return true;
  if (lower === 'false' || lower === '0') return false;
  throw new Error(`${quote(text)} is not true or false`);
}

function parsePositiveInteger(text: string): number {
  const n = /^[0-9]{1,9}$/.test(text) ? Number(text) : NaN;
  if (!(n > 0)) throw new Error(`${quote(text)} is not a whole number above zero`);
  return n;
}

function parsePositiveDuration(text: string): number {
  const ms = parseDuration(text);
  if (ms <= 0) throw new Error(`${quote(text)} must be longer than zero`);
  return ms;
}

function parsePositiveBytes(text: string): number {
  const bytes = parseByteQuantity(text);
  if (bytes <= 0) throw new Error(`${quote(text)} must be more than zero bytes`);
  return bytes;
}

function parseOneOf<T extends string>(values: readonly T[]): (text: string) => T {
  return (text) => {
    if ((values as readonly string[]).includes(text)) return text as T;
    throw new Error(`${quote(text)} is not one of ${values.join(', ')}`);
  };
}

function parseDnsLabel(text: string): string {
  if (!isDnsLabel(text)) throw new Error(`${quote(text)} is not a namespace name (lower-case letters, digits and "-", at most 63)`);
  return text;
}

function parseDnsSubdomain(text: string): string {
  if (!(text.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(text))) {
    throw new Error(`${quote(text)} is not a Kubernetes object name (lower-case letters, digits, "-" and ".")`);
  }
  return text;
}

function parsePath(text: string): string {
  if (text === '') throw new Error('the path is empty');
  return text;
}

function isDnsLabel(text: string): boolean {
  return /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(text);
}

function quote(text: string): string {
  return JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text);
}

// ------------------------------------------------------------------ the table

function option<T>(spec: OptionSpec<T>): OptionSpec<T> {
  return spec;
}

const OPTIONS: { [K in keyof Config]: OptionSpec<Config[K]> } = {
  externalUrl: option({
    flag: 'external-url',
    default: 'http://127.0.0.1:8080',
    description:
      'Base URL callers use to reach the receiver; webhook URLs are built from it. Required when running in a cluster (the default only suits local development).',
    parse: parseUrl,
  }),
  webhookPort: option({ flag: 'webhook-port', default: '8080', description: 'Port the webhook receiver listens on.', parse: parsePort }),
  webhookBindAddress: option({
    flag: 'webhook-bind-address',
    default: '0.0.0.0',
    description: 'Address the receiver, metrics and health servers bind to (`::` for every IPv6 and IPv4 address).',
    parse: parseIpAddress,
  }),
  metricsPort: option({ flag: 'metrics-port', default: '9090', description: 'Port serving Prometheus metrics at `/metrics`.', parse: parsePort }),
  healthPort: option({
    flag: 'health-port',
    default: '8081',
    description: 'Port serving `/healthz` and `/readyz`, kept apart from metrics so that probes do not depend on who may scrape.',
    parse: parsePort,
  }),
  namespaces: option({ flag: 'namespaces', default: '', description: 'Comma-separated namespaces to watch; empty watches all.', parse: parseNamespaces }),
  trustedProxies: option({
    flag: 'trusted-proxies',
    default: '',
    description: 'Comma-separated CIDRs of proxies whose `X-Forwarded-For` is believed when checking a trigger\'s allowed source ranges.',
    parse: parseCidrs,
  }),
  leaderElect: option({
    flag: 'leader-elect',
    default: 'true',
    boolean: true,
    description: 'Run the controllers only on the replica holding the leader lease (`--no-leader-elect` or `=false` to disable).',
    parse: parseBoolean,
  }),
  leaderElectionNamespace: option({
    flag: 'leader-election-namespace',
    default: (env) => (env.POD_NAMESPACE ? { text: env.POD_NAMESPACE, origin: 'POD_NAMESPACE' } : { text: 'planasonix-system', origin: 'default' }),
    defaultText: '`$POD_NAMESPACE`, else `planasonix-system`',
    description: 'Namespace of the leader-election Lease.',
    parse: parseDnsLabel,
  }),
  leaderElectionId: option({
    flag: 'leader-election-id',
    default: 'planasonix-webhook-operator',
    description: 'Name of the leader-election Lease.',
    parse: parseDnsSubdomain,
  }),
  leaseDurationMs: option({
    flag: 'lease-duration',
    default: '15s',
    description: 'How long a lease holds without renewal before another replica may take it.',
    parse: parsePositiveDuration,
  }),
  renewDeadlineMs: option({
    flag: 'renew-deadline',
    default: '10s',
    description: 'How long the leader keeps trying to renew before it gives up leading; shorter than the lease duration.',
    parse: parsePositiveDuration,
  }),
  retryPeriodMs: option({ flag: 'retry-period', default: '2s', description: 'Interval between attempts to acquire or renew the lease.', parse: parsePositiveDuration }),
  logLevel: option({ flag: 'log-level', default: 'info', description: `Least severe level logged: ${LOG_LEVELS.join(', ')}.`, parse: parseOneOf(LOG_LEVELS) }),
  tlsCertFile: option({
    flag: 'tls-cert-file',
    default: () => undefined,
    defaultText: 'none',
    description: 'PEM certificate for the receiver; with `--tls-key-file` the receiver serves HTTPS.',
    parse: parsePath,
  }),
  tlsKeyFile: option({
    flag: 'tls-key-file',
    default: () => undefined,
    defaultText: 'none',
    description: 'PEM private key matching `--tls-cert-file`.',
    parse: parsePath,
  }),
  defaultMaxBodyBytes: option({
    flag: 'default-max-body-bytes',
    default: '1Mi',
    description: 'Largest request body accepted when a trigger sets no `payload.maxBytes` (bytes, or with Ki, Mi, k, M).',
    parse: parsePositiveBytes,
  }),
  maxBodyBytes: option({
    flag: 'max-body-bytes',
    default: '4Mi',
    description:
      'Largest `payload.maxBytes` a trigger may ask for; a trigger asking more is not Ready (`PayloadLimitTooHigh`). Bodies are held in memory while verified and parsed, at a few times their size.',
    parse: parsePositiveBytes,
  }),
  maxInflightRequests: option({
    flag: 'max-inflight-requests',
    default: '128',
    description: 'Webhook requests the receiver works on at once; beyond it, and beyond half of it for one trigger, it answers 503 with `Retry-After` before reading the body.',
    parse: parsePositiveInteger,
  }),
  maxInflightBodyBytes: option({
    flag: 'max-inflight-body-bytes',
    default: '16Mi',
    description:
      'Request body bytes the receiver holds at once (declared or read so far); beyond it, and beyond half of it for one trigger, it answers 503 with `Retry-After`. At least twice `--max-body-bytes`.',
    parse: parsePositiveBytes,
  }),
  maxParamsBytes: option({
    flag: 'max-params-bytes',
    default: '512Ki',
    description: 'Largest sum of one delivery\'s mapped param values (UTF-8 bytes), well under the API server\'s object size limit; beyond it the params are refused (400 in strict mode, a Failed run otherwise).',
    parse: parsePositiveBytes,
  }),
  replayWindowMs: option({
    flag: 'replay-window',
    default: '24h',
    description:
      'How long a delivery key (delivery ID, idempotency key, signed-request fingerprint) starts no second run for schemes that sign no timestamp (`github`, `bearer`, `none`); signed-timestamp schemes use twice their `tolerance`. History keeps runs at least this long.',
    parse: parsePositiveDuration,
  }),
  requestTimeoutMs: option({ flag: 'request-timeout', default: '30s', description: 'Time budget for one webhook request, from first byte to answer.', parse: parsePositiveDuration }),
  headerTimeoutMs: option({
    flag: 'header-timeout',
    default: '10s',
    description: 'Time allowed to receive a request\'s headers; at most the request timeout.',
    parse: parsePositiveDuration,
  }),
  components: option({
    flag: 'components',
    default: 'all',
    description: 'What this process runs: `all`, `controllers` or `receiver` (to scale the receiver apart).',
    parse: parseOneOf(COMPONENTS),
  }),
  kubeApiTimeoutMs: option({ flag: 'kube-api-timeout', default: '10s', description: 'Timeout of one request to the Kubernetes API server.', parse: parsePositiveDuration }),
  statusFlushIntervalMs: option({
    flag: 'status-flush-interval',
    default: '5s',
    description: 'How often, at most, the leader writes a busy trigger\'s `status.lastDelivery`.',
    parse: parsePositiveDuration,
  }),
};

const KEYS = Object.keys(OPTIONS) as (keyof Config)[];
const KEY_BY_FLAG = new Map(KEYS.map((key) => [OPTIONS[key].flag, key]));

function envName(flag: string): string {
  return ENV_PREFIX + flag.toUpperCase().replaceAll('-', '_');
}

/** The configuration options as documented: flag, environment variable, default and description. */
export const CONFIG_OPTIONS: readonly ConfigOption[] = KEYS.map((key) => {
  const o = OPTIONS[key];
  return {
    key,
    flag: `--${o.flag}`,
    env: envName(o.flag),
    default: o.defaultText ?? (typeof o.default === 'string' ? (o.default === '' ? 'empty' : `\`${o.default}\``) : 'none'),
    description: o.description,
  };
});

/** The options as a Markdown table, for the README. */
export function renderConfigTable(): string {
  const escape = (s: string): string => s.replaceAll('|', '\\|');
  return [
    '| Flag | Environment variable | Default | Description |',
    '| --- | --- | --- | --- |',
    ...CONFIG_OPTIONS.map((o) => `| \`${o.flag}\` | \`${o.env}\` | ${escape(o.default)} | ${escape(o.description)} |`),
    '',
  ].join('\n');
}

// ------------------------------------------------------------------ parsing

interface RawValue {
  text: string;
  /** Where the text came from, for error messages. */
  origin: string;
}

/**
 * Reads the configuration from flags (`argv`, without the program and command names) and the
 * environment. Throws a ConfigError that lists every problem found, not only the first.
 */
export function parseConfig(argv: readonly string[], env: Env): Config {
  const problems: string[] = [];
  const flags = readFlags(argv, problems);

  const values: Partial<Record<keyof Config, unknown>> = {};
  const explicit = new Set<keyof Config>();
  const failed = new Set<keyof Config>(flags.failed);
  for (const key of KEYS) {
    if (failed.has(key)) continue;
    const o = OPTIONS[key];
    const raw = flags.found.get(key) ?? readEnv(o, env) ?? readDefault(o, env);
    if (raw === undefined) {
      values[key] = undefined;
      continue;
    }
    if (raw.origin !== 'default') explicit.add(key);
    try {
      values[key] = o.parse(raw.text);
    } catch (e) {
      failed.add(key);
      problems.push(`--${o.flag}${raw.origin === 'flag' ? '' : ` (from ${raw.origin})`}: ${(e as Error).message}`);
    }
  }
  checkCombinations(values as Partial<Config>, { explicit, failed, env }, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return values as Config;
}

interface FlagValues {
  found: Map<keyof Config, RawValue>;
  /** Options given as a flag but wrongly: they do not fall back to the environment or the default. */
  failed: Set<keyof Config>;
}

function readFlags(argv: readonly string[], problems: string[]): FlagValues {
  const options = Object.fromEntries(KEYS.map((key) => [OPTIONS[key].flag, { type: OPTIONS[key].boolean ? ('boolean' as const) : ('string' as const) }]));
  // Not strict: parseArgs stops at the first problem, and we want to report all of them.
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, allowNegative: true, tokens: true });
  const found = new Map<keyof Config, RawValue>();
  const failed = new Set<keyof Config>();
  const fail = (key: keyof Config, problem: string): void => {
    problems.push(problem);
    failed.add(key);
  };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const next = tokens[i + 1];
    const valueFollows = next?.kind === 'positional' && next.index === token.index + 1;
    if (token.kind === 'option-terminator') {
      problems.push('unexpected "--": this command takes flags only');
      continue;
    }
    if (token.kind === 'positional') {
      problems.push(`unexpected argument ${quote(token.value)}: flags are written --name=value`);
      continue;
    }
    // parseArgs strips "no-" from a negated flag's name, except when a value is attached.
    const negated = token.rawName.startsWith('--no-');
    const name = negated && token.name === token.rawName.slice(2) ? token.name.slice(3) : token.name;
    const key = KEY_BY_FLAG.get(name);
    if (key === undefined) {
      problems.push(describeUnknownFlag(token.rawName, name, negated));
      // "--unknown value": the value belongs to the unknown flag; do not report it a second time.
      if (token.value === undefined && valueFollows) i++;
      continue;
    }
    const o = OPTIONS[key];
    if (negated && !o.boolean) {
      fail(key, `${token.rawName}: only true/false flags have a --no- form; write --${o.flag}=VALUE`);
      continue;
    }
    if (negated && token.value !== undefined) {
      fail(key, `${token.rawName}: takes no value`);
      continue;
    }
    if (o.boolean) {
      let text = token.value ?? (negated ? 'false' : 'true');
      // Also accept the space-separated "--leader-elect false".
      if (token.value === undefined && !negated && valueFollows && /^(true|false)$/i.test(next.value)) {
        text = next.value;
        i++;
      }
      found.set(key, { text, origin: 'flag' });
      continue;
    }
    if (token.value === undefined || (!token.inlineValue && token.value.startsWith('--'))) {
      fail(key, `--${o.flag}: needs a value (--${o.flag}=VALUE)`);
      continue;
    }
    // An empty text for a required value is a mistake; for a list it clears the list.
    if (token.value === '' && o.default !== '') {
      fail(key, `--${o.flag}: needs a value, got an empty one`);
      continue;
    }
    found.set(key, { text: token.value, origin: 'flag' });
  }
  return { found, failed };
}

// An empty variable counts as unset, as manifests often template variables that may be blank.
function readEnv(o: OptionSpec<unknown>, env: Env): RawValue | undefined {
  const name = envName(o.flag);
  const text = env[name];
  return text === undefined || text === '' ? undefined : { text, origin: name };
}

function readDefault(o: OptionSpec<unknown>, env: Env): RawValue | undefined {
  return typeof o.default === 'string' ? { text: o.default, origin: 'default' } : o.default(env);
}

interface CheckContext {
  explicit: ReadonlySet<keyof Config>;
  failed: ReadonlySet<keyof Config>;
  env: Env;
}

// Rules that involve several options; each runs only when its options parsed, so that one bad value
// is reported once, not again as a broken combination.
function checkCombinations(config: Partial<Config>, ctx: CheckContext, problems: string[]): void {
  const valid = (...keys: (keyof Config)[]): boolean => keys.every((k) => !ctx.failed.has(k));
  if (valid('tlsCertFile', 'tlsKeyFile') && (config.tlsCertFile === undefined) !== (config.tlsKeyFile === undefined)) {
    const [missing, given] = config.tlsCertFile === undefined ? ['--tls-cert-file', '--tls-key-file'] : ['--tls-key-file', '--tls-cert-file'];
    problems.push(`${missing}: required together with ${given} (give both to serve HTTPS, or neither)`);
  }
  // Inside a cluster the development default would hand callers URLs that point at 127.0.0.1.
  if (valid('components', 'externalUrl') && config.components !== 'receiver' && ctx.env.KUBERNETES_SERVICE_HOST && !ctx.explicit.has('externalUrl')) {
    problems.push(`--external-url: required when running in a cluster (or set ${envName('external-url')}): webhook URLs are built from it`);
  }
  if (valid('leaderElect', 'leaseDurationMs', 'renewDeadlineMs', 'retryPeriodMs') && config.leaderElect) {
    const { leaseDurationMs = 0, renewDeadlineMs = 0, retryPeriodMs = 0 } = config;
    if (!(leaseDurationMs > renewDeadlineMs)) {
      problems.push('--lease-duration: must be longer than --renew-deadline, or another replica could lead while this one still does');
    }
    // client-go's rule: the deadline must leave room for at least one jittered retry.
    if (!(renewDeadlineMs > retryPeriodMs * 1.2)) {
      problems.push('--renew-deadline: must be longer than 1.2 × --retry-period, to leave room for a retry');
    }
  }
  if (valid('defaultMaxBodyBytes', 'maxBodyBytes') && config.defaultMaxBodyBytes! > config.maxBodyBytes!) {
    problems.push('--default-max-body-bytes: must not be more than --max-body-bytes');
  }
  if (valid('maxBodyBytes', 'maxInflightBodyBytes') && config.maxBodyBytes! * 2 > config.maxInflightBodyBytes!) {
    problems.push('--max-inflight-body-bytes: must be at least twice --max-body-bytes, so that one trigger\'s share holds its largest body');
  }
  if (valid('headerTimeoutMs', 'requestTimeoutMs') && config.headerTimeoutMs! > config.requestTimeoutMs!) {
    problems.push('--header-timeout: must not be longer than --request-timeout');
  }
  const ports: [string, number | undefined][] = [
    ['--metrics-port', config.metricsPort],
    ['--health-port', config.healthPort],
  ];
  // A process that runs only the controllers opens no webhook port.
  if (config.components !== 'controllers') ports.unshift(['--webhook-port', config.webhookPort]);
  const seen = new Map<number, string>();
  for (const [flag, port] of ports) {
    if (port === undefined || port === 0) continue;
    const other = seen.get(port);
    if (other) problems.push(`${flag}: port ${port} is already used by ${other}`);
    seen.set(port, flag);
  }
}

// parseArgs strips "no-" from the name of a negated flag, so suggest on the bare name and put it back.
function describeUnknownFlag(rawName: string, name: string, negated: boolean): string {
  const suggestion = closestFlag(name, KEY_BY_FLAG.keys());
  const key = suggestion === undefined ? undefined : KEY_BY_FLAG.get(suggestion);
  const spelled = key === undefined ? undefined : negated && OPTIONS[key].boolean ? `--no-${suggestion}` : `--${suggestion}`;
  return `unknown flag ${rawName}${spelled ? `; did you mean ${spelled}?` : ''}`;
}
