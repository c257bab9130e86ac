// Structured JSON logging: one line per event, with redaction that applies at every level, so a
// secret, a signature, a request body or a capability URL cannot reach the logs by being logged as a field.
import { pino, stdTimeFunctions, type DestinationStream, type LogFn, type Logger as PinoLogger } from 'pino';

/**
 * The one logger type: the slice of pino every part of the operator logs through, so the controller
 * machinery can log without owning the process-wide logger and tests can pass a silent one.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

const noop = (): void => {};

export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop, child: () => silentLogger };

/**
 * The error's name and message as plain log fields; never the whole object, which may hold a
 * response. (Not under `err`: a logger's error serializer expects an Error there.)
 */
export function describeError(e: unknown): { errorName: string; errorMessage: string } {
  if (e instanceof Error) return { errorName: e.name, errorMessage: e.message };
  return { errorName: typeof e, errorMessage: String(e) };
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Set to a file path to append every log line of the process to it (a test run scans it for secrets). */
export const LOG_CAPTURE_ENV = 'PLANASONIX_LOG_CAPTURE';

export const REDACTED = '[REDACTED]';

/**
 * Field names whose value is never logged, at whatever depth (up to REDACT_DEPTH) they appear.
 * `url` and `path` are redacted because a webhook's URL is a capability: knowing it is half of calling it.
 * `params` is redacted whole because the logger cannot know which params are sensitive, and `data`
 * and `stringData` because that is where a Kubernetes Secret carries its values.
 */
export const REDACTED_KEYS = [
  'secret',
  'signingSecret',
  'previousSigningSecret',
  'password',
  'privateKey',
  'token',
  'authorization',
  'cookie',
  'signature',
  'body',
  'rawBody',
  'payload',
  'sensitive',
  'params',
  'url',
  'path',
  'data',
  'stringData',
] as const;

/** Header names (Koa lower-cases them) whose value is a credential. */
export const REDACTED_HEADERS = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-planasonix-signature',
  'webhook-signature',
  'x-hub-signature',
  'x-hub-signature-256',
] as const;

/** Log output waiting for stdout, at most. */
const LOG_BUFFER_MAX_BYTES = 16 * 1024 * 1024;
/** Log output written at once: see logDestination. */
const LOG_BATCH_BYTES = 4096;
/** sonic-boom's periodic flush, which an idle process pays with one empty write per interval. */
const LOG_FLUSH_INTERVAL_MS = 500;

/** How many levels of nesting below the top the redaction reaches: `req.headers.authorization` is depth 2. */
export const REDACT_DEPTH = 4;


export interface LoggerOptions {
  level?: LogLevel | 'silent';
  /** Where lines go; stdout when omitted. */
  destination?: DestinationStream;
}

/** The only fields of an error that are logged. */
export interface SafeError {
  name: string;
  message: string;
  status?: number;
  reason?: string;
}

/**
 * The process logger's destination (stdout; a file for the bench's baseline), asynchronous and
 * batched. A synchronous write() per line cost a rejected request 4–8 µs, a tenth of its CPU; an
 * asynchronous write per line cost an accepted delivery more (each is a trip through libuv's thread
 * pool, waking a thread and then the event loop), so lines are written LOG_BATCH_BYTES at a time,
 * and at most LOG_FLUSH_INTERVAL_MS late when traffic is light. Lines still pending are written
 * synchronously when the process exits, crashes included (pino flushes on 'exit'); only a SIGKILL
 * loses them. A destination that stops reading fills at most LOG_BUFFER_MAX_BYTES, past which lines
 * are dropped rather than memory grown.
 */
export function logDestination(dest: number | string): DestinationStream {
  return pino.destination({ dest, sync: false, minLength: LOG_BATCH_BYTES, periodicFlush: LOG_FLUSH_INTERVAL_MS, maxLength: LOG_BUFFER_MAX_BYTES });
}

/** Creates the process logger, a pino logger (children come from `logger.child({ component })`); it is a Logger. */
export function createLogger(options: LoggerOptions = {}): PinoLogger {
  const level = options.level ?? 'info';
  if (level !== 'silent' && !LOG_LEVELS.includes(level)) {
    throw new Error(`unknown log level "${String(level)}": use one of ${LOG_LEVELS.join(', ')}`);
  }
  const primary = options.destination ?? logDestination(1);
  const capturePath = process.env[LOG_CAPTURE_ENV];
  const destination = capturePath ? teeDestination(primary, openCaptureFile(capturePath)) : primary;
  const logger = pino(
    {
      level,
      base: null,
      messageKey: 'msg',
      timestamp: stdTimeFunctions.isoTime,
      // Redaction is one walk per line (redactSensitive) rather than pino's `redact`, which made a
      // pass per path — 130 of them — on every line and cost more than all else a rejected request does.
      formatters: { level: (label) => ({ level: label }), log: redactSensitive },
      serializers: { err: serializeError, error: serializeError },
      hooks: { logMethod: supplySafeMessage },
    },
    destination,
  );
  // pino gives child bindings no formatter, so they are redacted on the way in. Children inherit this
  // method from the root (pino makes each child with Object.create), grandchildren included.
  const child = logger.child;
  logger.child = function (this: PinoLogger, bindings: Parameters<PinoLogger['child']>[0], options?: Parameters<PinoLogger['child']>[1]) {
    return child.call(this, redactSensitive(bindings), options);
  } as PinoLogger['child'];
  return logger;
}

/**
 * Reduces anything thrown to name, message, status and reason: a KubeError or an HTTP error may
 * carry a request or response body in other properties, and a stack adds nothing a user can act on.
 */
export function serializeError(value: unknown): SafeError {
  if (!(value instanceof Error)) {
    return { name: typeof value, message: truncate(String(value)) };
  }
  const safe: SafeError = { name: value.name, message: truncate(scrubMessage(value)) };
  const { status, reason } = value as { status?: unknown; reason?: unknown };
  if (typeof status === 'number') safe.status = status;
  if (typeof reason === 'string') safe.reason = reason;
  return safe;
}

export interface LogRecord {
  level: LogLevel | 'fatal';
  time: string;
  msg?: string;
  [field: string]: unknown;
}

/** An in-memory destination: pass `capture.destination` to createLogger, then read what was logged. */
export interface LogCapture {
  destination: DestinationStream;
  /** Every line written, as written (JSON text). */
  lines(): string[];
  /** Every line parsed. */
  records(): LogRecord[];
  /** Everything written, one string, for "this secret appears nowhere" assertions. */
  text(): string;
  clear(): void;
}

export function createLogCapture(): LogCapture {
  let written: string[] = [];
  return {
    destination: {
      write(chunk: string) {
        for (const line of chunk.split('\n')) if (line) written.push(line);
      },
    },
    lines: () => [...written],
    records: () => written.map((line) => JSON.parse(line) as LogRecord),
    text: () => written.join('\n'),
    clear: () => {
      written = [];
    },
  };
}

/** The name the design brief used for createLogCapture. */
export const testLogDestination = createLogCapture;

// pino copies an error's raw message into `msg` when no message is given, bypassing the serializer;
// give it the serialized (scrubbed) message instead.
function supplySafeMessage(this: Logger, args: Parameters<LogFn>, method: LogFn): void {
  const [first] = args;
  if (args.length === 1 && typeof first === 'object' && first !== null) {
    const error = first instanceof Error ? first : (first as { err?: unknown; msg?: unknown });
    if (error instanceof Error) {
      method.apply(this, [first, serializeError(error).message]);
      return;
    }
    if (error.err instanceof Error && error.msg === undefined) {
      method.apply(this, [first, serializeError(error.err).message]);
      return;
    }
  }
  method.apply(this, args);
}

const SENSITIVE_KEYS: ReadonlySet<string> = new Set(REDACTED_KEYS);
const SENSITIVE_HEADERS: ReadonlySet<string> = new Set(REDACTED_HEADERS);

/**
 * The fields of a log line with every sensitive one replaced by REDACTED: a key of REDACTED_KEYS at
 * the top level or nested up to REDACT_DEPTH levels (in objects and arrays alike), and a credential
 * header inside any `headers` object within that depth. Copies only what it changes; the caller's
 * objects are never modified.
 */
export function redactSensitive<T extends object>(fields: T): T {
  return redactWithin(fields, 0);
}

function redactWithin<T extends object>(obj: T, depth: number): T {
  let copy: Record<string, unknown> | undefined;
  const source = obj as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    const value = source[key];
    let next = value;
    if (SENSITIVE_KEYS.has(key)) {
      if (value !== undefined) next = REDACTED;
    } else if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value)) {
      if (key === 'headers') next = redactHeaders(value);
      if (depth < REDACT_DEPTH) next = redactWithin(next as object, depth + 1);
    }
    if (next !== value) {
      copy ??= shallowCopy(source);
      copy[key] = next;
    }
  }
  return (copy ?? obj) as T;
}

function redactHeaders(headers: object): object {
  let copy: Record<string, unknown> | undefined;
  for (const name of Object.keys(headers)) {
    if (!SENSITIVE_HEADERS.has(name)) continue;
    copy ??= shallowCopy(headers as Record<string, unknown>);
    copy[name] = REDACTED;
  }
  return copy ?? headers;
}

// Keeps the prototype and non-enumerable properties, so an Error stays an Error for the serializers.
function shallowCopy(obj: Record<string, unknown>): Record<string, unknown> {
  if (Array.isArray(obj)) return obj.slice() as unknown as Record<string, unknown>;
  return Object.create(Object.getPrototypeOf(obj) as object | null, Object.getOwnPropertyDescriptors(obj)) as Record<string, unknown>;
}

// JSON.parse quotes the start of its input in its message, and that input is a request body.
function scrubMessage(error: Error): string {
  if (error.name !== 'SyntaxError') return error.message;
  return error.message.replace(/^(.*?)(?:, )?(?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, (_, head: string) =>
    head ? `${head} in JSON input` : 'input is not valid JSON',
  );
}

function truncate(message: string): string {
  return message.length > 1000 ? `${message.slice(0, 1000)}…` : message;
}

function teeDestination(first: DestinationStream, second: DestinationStream): DestinationStream {
  return {
    write(chunk: string) {
      first.write(chunk);
      second.write(chunk);
    },
  };
}

const captureFiles = new Map<string, DestinationStream>();

// One synchronous append stream per path for the whole process, so no line is lost at exit.
function openCaptureFile(path: string): DestinationStream {
  let stream = captureFiles.get(path);
  if (!stream) {
    stream = pino.destination({ dest: path, append: true, sync: true, mkdir: true });
    captureFiles.set(path, stream);
  }
  return stream;
}
