// W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` a sender puts on a
// delivery is kept on its run and handed to the Job, so the pipeline's spans join the sender's
// trace. A delivery without one starts a trace seeded by its correlation ID, so the run, the
// receiver's log line and the Job still share one trace ID. Only a value that parses is ever stored
// or logged: a header is caller input.
import { createHash } from 'node:crypto';

export interface TraceContext {
  /** The whole header in its version-00 form: `00-<trace-id>-<parent-id>-<flags>`. */
  traceparent: string;
  traceId: string;
  parentId: string;
  flags: string;
}

const HEX = /^[0-9a-f]+$/;
/** tracestate is a list of at most 32 members; 512 characters is the spec's propagation floor. */
const MAX_TRACESTATE = 512;
const TRACESTATE_MEMBER = /^[a-z0-9][a-z0-9_\-*/@]{0,255}=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * Parses a traceparent header as the spec's processing model says: version 00 must be exactly four
 * fields; a higher version may carry more fields after the four it shares with 00; version ff,
 * upper-case hex and all-zero IDs are invalid. Returns the version-00 form, or undefined.
 */
export function parseTraceparent(header: string | undefined): TraceContext | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value.length < 55 || value.length > 512) return undefined;
  const [version, traceId, parentId, flags, ...rest] = value.split('-');
  if (!version || version.length !== 2 || !HEX.test(version) || version === 'ff') return undefined;
  if (version === '00' && rest.length > 0) return undefined;
  if (!traceId || traceId.length !== 32 || !HEX.test(traceId) || /^0+$/.test(traceId)) return undefined;
  if (!parentId || parentId.length !== 16 || !HEX.test(parentId) || /^0+$/.test(parentId)) return undefined;
  if (!flags || flags.length !== 2 || !HEX.test(flags)) return undefined;
  // A later version keeps the sampled bit where 00 has it; other bits are its own.
  const kept = version === '00' ? flags : (parseInt(flags, 16) & 0x01).toString(16).padStart(2, '0');
  return { traceparent: `00-${traceId}-${parentId}-${kept}`, traceId, parentId, flags: kept };
}

/**
 * A new trace for a delivery that arrived without one. A UUID correlation ID is 128 bits, the size
 * of a trace ID, so it becomes the trace ID itself (searching a tracing backend for the correlation
 * ID without dashes finds the run); anything else is hashed. The parent (span) ID is derived too, so
 * the same correlation ID always gives the same traceparent. Sampled, since no one upstream decided.
 */
export function traceparentFromCorrelationId(correlationId: string): TraceContext {
  const compact = correlationId.replaceAll('-', '').toLowerCase();
  const traceId = compact.length === 32 && HEX.test(compact) && !/^0+$/.test(compact) ? compact : digest(`trace:${correlationId}`).slice(0, 32);
  let parentId = digest(`span:${correlationId}`).slice(0, 16);
  if (/^0+$/.test(parentId)) parentId = '0000000000000001';
  const flags = '01';
  return { traceparent: `00-${traceId}-${parentId}-${flags}`, traceId, parentId, flags };
}

/**
 * The tracestate header, kept only when every list member is well-formed and the whole is within the
 * spec's 512-character floor; otherwise dropped (the spec lets a vendor discard tracestate).
 */
export function parseTracestate(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === '' || value.length > MAX_TRACESTATE) return undefined;
  const members = value.split(',').map((m) => m.trim()).filter((m) => m !== '');
  if (members.length === 0 || members.length > 32 || !members.every((m) => TRACESTATE_MEMBER.test(m))) return undefined;
  return members.join(',');
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
