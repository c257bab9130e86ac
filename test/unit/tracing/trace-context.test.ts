// The W3C traceparent parser and the trace a delivery without one starts: cases from the spec's
// processing model (https://www.w3.org/TR/trace-context/#traceparent-header).
import { expect } from 'chai';
import { parseTraceparent, parseTracestate, traceparentFromCorrelationId } from '../../../src/tracing/trace-context.ts';

const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('trace context', () => {
  it('parses the spec example', () => {
    expect(parseTraceparent(VALID)).to.deep.equal({ traceparent: VALID, traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentId: '00f067aa0ba902b7', flags: '01' });
  });

  for (const [why, value] of [
    ['missing', undefined],
    ['empty', ''],
    ['upper-case hex', VALID.toUpperCase()],
    ['version ff', VALID.replace(/^00/, 'ff')],
    ['an all-zero trace ID', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['an all-zero parent ID', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['a short trace ID', '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01'],
    ['version 00 with an extra field', `${VALID}-extra`],
    ['two headers joined by Node', `${VALID}, ${VALID}`],
    ['non-hex flags', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g'],
    ['a newline (log injection)', `${VALID}\n{"level":"error"}`],
  ] as const) {
    it(`refuses ${why}`, () => {
      expect(parseTraceparent(value)).to.equal(undefined);
    });
  }

  it('reads a later version by its version-00 fields and sampled bit', () => {
    expect(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-future')?.traceparent).to.equal(VALID);
  });

  it('seeds a new trace from a UUID correlation ID: the trace ID is the UUID, the same ID gives the same traceparent', () => {
    const id = '0193f6c2-7b1e-7c3a-9f1d-2b8e4a6c0d11';
    const trace = traceparentFromCorrelationId(id);
    expect(trace.traceId).to.equal('0193f6c27b1e7c3a9f1d2b8e4a6c0d11');
    expect(parseTraceparent(trace.traceparent)).to.deep.equal(trace);
    expect(traceparentFromCorrelationId(id)).to.deep.equal(trace);
    expect(traceparentFromCorrelationId('0193f6c2-7b1e-7c3a-9f1d-2b8e4a6c0d12').parentId).to.not.equal(trace.parentId);
  });

  it('hashes a correlation ID that is not a UUID into a valid trace', () => {
    const trace = traceparentFromCorrelationId('hand-written-run');
    expect(parseTraceparent(trace.traceparent)).to.deep.equal(trace);
  });

  it('keeps a well-formed tracestate and drops a malformed or oversized one', () => {
    expect(parseTracestate('congo=t61rcWkgMzE, rojo=00f067aa0ba902b7')).to.equal('congo=t61rcWkgMzE,rojo=00f067aa0ba902b7');
    expect(parseTracestate('Upper=1')).to.equal(undefined);
    expect(parseTracestate('a=b\nc')).to.equal(undefined);
    expect(parseTracestate(`a=${'x'.repeat(600)}`)).to.equal(undefined);
  });
});
