import { expect } from 'chai';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeError } from '../../../src/kube/errors.ts';
import {
  LOG_CAPTURE_ENV,
  LOG_LEVELS,
  REDACTED,
  REDACTED_HEADERS,
  REDACTED_KEYS,
  REDACT_DEPTH,
  createLogCapture,
  createLogger,
  serializeError,
  type LogCapture,
  type LogLevel,
} from '../../../src/observability/logger.ts';

function captureAt(level: LogLevel = 'trace'): { capture: LogCapture; logger: ReturnType<typeof createLogger> } {
  const capture = createLogCapture();
  return { capture, logger: createLogger({ level, destination: capture.destination }) };
}

describe('logger', () => {
  describe('line format', () => {
    it('writes one JSON object per event with an ISO time, the level as a word and the message', () => {
      const { capture, logger } = captureAt('info');
      logger.info({ trigger: 'export-completed' }, 'delivery accepted');
      logger.warn('queue is %s', 'long');

      const lines = capture.lines();
      expect(lines).to.have.length(2);
      const first = JSON.parse(lines[0]!) as Record<string, unknown>;
      expect(first).to.include({ level: 'info', msg: 'delivery accepted', trigger: 'export-completed' });
      expect(new Date(first.time as string).toISOString()).to.equal(first.time);
      expect(capture.records()[1]).to.include({ level: 'warn', msg: 'queue is long' });
    });

    it('adds the bindings of a child logger to each of its lines', () => {
      const { capture, logger } = captureAt('info');
      logger.child({ component: 'receiver' }).info('listening');
      logger.info('parent');
      const [child, parent] = capture.records();
      expect(child).to.include({ component: 'receiver', msg: 'listening' });
      expect(parent).not.to.have.property('component');
    });
  });

  describe('levels', () => {
    it('logs events at and above the configured level only', () => {
      const { capture, logger } = captureAt('warn');
      logger.trace('t');
      logger.debug('d');
      logger.info('i');
      logger.warn('w');
      logger.error('e');
      expect(capture.records().map((r) => r.level)).to.deep.equal(['warn', 'error']);
    });

    it('labels each level by name', () => {
      const { capture, logger } = captureAt('trace');
      for (const level of LOG_LEVELS) logger[level]('event');
      expect(capture.records().map((r) => r.level)).to.deep.equal([...LOG_LEVELS]);
    });

    it('rejects an unknown level with the list of levels', () => {
      expect(() => createLogger({ level: 'verbose' as LogLevel })).to.throw('unknown log level "verbose": use one of trace, debug, info, warn, error');
    });
  });

  describe('redaction', () => {
    it('hides every sensitive field at the top level, at every level', () => {
      for (const level of LOG_LEVELS) {
        const { capture, logger } = captureAt(level);
        const fields = Object.fromEntries(REDACTED_KEYS.map((key) => [key, `value-of-${key}-at-${level}`]));
        logger[level](fields, 'event');

        const [record] = capture.records();
        for (const key of REDACTED_KEYS) expect(record![key], `${key} at ${level}`).to.equal(REDACTED);
        expect(capture.text()).not.to.include('value-of-');
      }
    });

    it(`hides sensitive fields nested up to ${REDACT_DEPTH} levels deep, in objects and arrays`, () => {
      const { capture, logger } = captureAt();
      logger.info({
        trigger: { spec: { auth: { signingSecret: 'deep-secret-1' } } },
        run: { spec: { params: { api_token: 'deep-secret-2' } } },
        deliveries: [{ payload: 'deep-secret-3' }],
        a: { b: { c: { d: { token: 'deep-secret-4' } } } },
      });
      const text = capture.text();
      expect(text).not.to.match(/deep-secret/);
      expect(text.split(REDACTED).length - 1).to.equal(4);
    });

    it('hides credential headers of a request and keeps the others', () => {
      const { capture, logger } = captureAt();
      const headers: Record<string, string> = Object.fromEntries(REDACTED_HEADERS.map((h) => [h, `credential-in-${h}`]));
      headers['content-type'] = 'application/json';
      logger.info({ req: { method: 'POST', headers } }, 'request');

      const req = capture.records()[0]!.req as { method: string; headers: Record<string, string> };
      expect(capture.text()).not.to.include('credential-in-');
      for (const h of REDACTED_HEADERS) expect(req.headers[h], h).to.equal(REDACTED);
      expect(req.headers['content-type']).to.equal('application/json');
      expect(req.method).to.equal('POST');
    });

    it('hides the capability URL and path of a webhook, also in child bindings', () => {
      const { capture, logger } = captureAt();
      const child = logger.child({ component: 'receiver', url: 'https://hooks.example.com/hooks/Zx81capability' });
      child.info({ path: '/hooks/Zx81capability', req: { url: '/hooks/Zx81capability' } }, 'routed');
      expect(capture.text()).not.to.include('Zx81capability');
      expect(capture.records()[0]).to.include({ component: 'receiver', url: REDACTED, path: REDACTED });
    });

    it('never lets a sensitive value through, whatever the nesting and the surrounding keys', () => {
      const key = fc.constantFrom(...REDACTED_KEYS);
      const parent = fc.stringMatching(/^[a-z]{1,8}$/).filter((k) => !(REDACTED_KEYS as readonly string[]).includes(k) && k !== 'headers');
      fc.assert(
        fc.property(key, fc.array(parent, { maxLength: REDACT_DEPTH }), fc.stringMatching(/^[A-Za-z0-9]{12,24}$/), (leaf, parents, secret) => {
          let event: Record<string, unknown> = { [leaf]: `S3cr3t-${secret}` };
          for (const p of parents.toReversed()) event = { [p]: event };
          const { capture, logger } = captureAt('debug');
          logger.debug(event, 'event');
          expect(capture.text()).not.to.include(`S3cr3t-${secret}`);
        }),
      );
    });
  });

  describe('errors', () => {
    it('logs only name, message, status and reason of a KubeError', () => {
      const { capture, logger } = captureAt();
      const error = Object.assign(new KubeError(422, 'Invalid', 'spec.params: Invalid value'), { body: '{"signing-secret":"whsec_abc"}' });
      logger.error({ err: error }, 'apply failed');
      expect(capture.records()[0]!.err).to.deep.equal({ name: 'KubeError', message: 'spec.params: Invalid value', status: 422, reason: 'Invalid' });
      expect(capture.text()).not.to.include('whsec_abc');
      expect(capture.text()).not.to.include('.ts:'); // no stack frames
    });

    it('serializes an error logged under "error" the same way', () => {
      const { capture, logger } = captureAt();
      logger.warn({ error: Object.assign(new Error('request failed'), { request: { body: 'raw-body-bytes' } }) }, 'retrying');
      expect(capture.records()[0]!.error).to.deep.equal({ name: 'Error', message: 'request failed' });
      expect(capture.text()).not.to.include('raw-body-bytes');
    });

    it('keeps the start of an unparsable request body out of the message of a JSON error', () => {
      for (const body of ['{"api_token": leaked-value}', 'leaked-value', `{"padding": "${'p'.repeat(40)}", "api_token": leaked-value}`]) {
        let parseError: unknown;
        try {
          JSON.parse(body);
        } catch (e) {
          parseError = e;
        }
        const { capture, logger } = captureAt();
        logger.error(parseError); // pino would copy the raw message into msg
        logger.error({ err: parseError });
        expect(capture.text(), body).not.to.include('leaked');
        expect(capture.records()[0]).to.include({ msg: "Unexpected token 'l' in JSON input" });
      }
    });

    it('describes a thrown non-error by its type', () => {
      expect(serializeError('boom')).to.deep.equal({ name: 'string', message: 'boom' });
      expect(serializeError(undefined)).to.deep.equal({ name: 'undefined', message: 'undefined' });
    });

    it('truncates a very long message', () => {
      expect(serializeError(new Error('x'.repeat(5000))).message).to.have.length(1001);
    });
  });

  describe(`${LOG_CAPTURE_ENV}`, () => {
    let dir: string;
    let saved: string | undefined;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'planasonix-log-'));
      saved = process.env[LOG_CAPTURE_ENV];
    });
    afterEach(() => {
      if (saved === undefined) delete process.env[LOG_CAPTURE_ENV];
      else process.env[LOG_CAPTURE_ENV] = saved;
      rmSync(dir, { recursive: true, force: true });
    });

    it('appends every line, redacted, to the named file as well as to the destination', () => {
      const file = join(dir, 'nested', 'all.log');
      process.env[LOG_CAPTURE_ENV] = file;
      const first = captureAt('info');
      const second = captureAt('info');
      first.logger.info({ signingSecret: 'whsec_capture' }, 'one');
      second.logger.child({ component: 'receiver' }).warn('two');

      const lines = readFileSync(file, 'utf8').trim().split('\n');
      expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).to.deep.equal(['one', 'two']);
      expect(lines.join('\n')).not.to.include('whsec_capture');
      expect(first.capture.lines()).to.deep.equal([lines[0]]);
    });
  });
});
