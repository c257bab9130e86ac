// The CloudEvents 1.0 HTTP protocol binding (https://github.com/cloudevents/spec, http-protocol-
// binding.md), read by its spec: binary mode (attributes in ce-* headers, the body is the event's
// data) and structured mode (the whole event as application/cloudevents+json). Batched mode is
// refused. Pure functions over an already size-bounded request; the receiver calls them after the
// signature check, so the raw bytes a signature covers are never changed.

export type CloudEventMode = 'binary' | 'structured';

/** A received event: its context attributes as strings (as binary mode carries them), and its data. */
export interface ReceivedCloudEvent {
  mode: CloudEventMode;
  /** specversion, id, source, type and the optional and extension attributes, lower-case names. */
  attributes: Readonly<Record<string, string>>;
  /**
   * Structured mode: the event's `data` (JSON), or the JSON decoded from `data_base64` when the
   * datacontenttype is JSON; undefined when there is none. Binary mode leaves the body as it came.
   */
  data?: unknown;
}

export type CloudEventResult = { ok: true; event: ReceivedCloudEvent } | { ok: false; code: string; message: string; unsupportedMedia?: true };

export const SPEC_VERSION = '1.0';
const REQUIRED = ['id', 'source', 'type'] as const;
/** Attribute names: lower-case letters and digits, at most 20 characters (spec: "SHOULD NOT exceed"). */
const ATTRIBUTE_NAME = /^[a-z0-9]{1,20}$/;
const STRUCTURED = 'application/cloudevents+json';
const BATCH = 'application/cloudevents-batch+json';

/** The media type of a Content-Type header, lower-case and without parameters. */
export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

export function isStructuredCloudEvent(contentType: string | undefined): boolean {
  return mediaTypeOf(contentType) === STRUCTURED;
}

export function isBatchedCloudEvents(contentType: string | undefined): boolean {
  return mediaTypeOf(contentType) === BATCH;
}

/** Binary mode is signalled by the ce-specversion header. */
export function isBinaryCloudEvent(headers: Readonly<Record<string, string | string[] | undefined>>): boolean {
  return headers['ce-specversion'] !== undefined;
}

/**
 * Binary mode: every ce-<name> header is the attribute <name>, its value percent-decoded (the
 * binding percent-encodes characters outside printable ASCII); Content-Type is datacontenttype.
 */
export function readBinaryCloudEvent(headers: Readonly<Record<string, string | string[] | undefined>>): CloudEventResult {
  const attributes: [string, string][] = [];
  for (const [header, raw] of Object.entries(headers)) {
    if (!header.startsWith('ce-')) continue;
    const name = header.slice(3);
    if (!ATTRIBUTE_NAME.test(name)) return invalid(`the header ${header} does not name a CloudEvents attribute (lower-case letters and digits, at most 20)`);
    // Node joins repeated headers with ", ": an attribute given twice is ambiguous.
    if (Array.isArray(raw) || raw === undefined) return invalid(`the header ${header} is repeated`);
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      return invalid(`the header ${header} is not validly percent-encoded`);
    }
    attributes.push([name, value]);
  }
  const contentType = headers['content-type'];
  if (typeof contentType === 'string' && contentType !== '') attributes.push(['datacontenttype', contentType]);
  return checked('binary', Object.fromEntries(attributes), undefined);
}

/**
 * Structured mode: the body, already parsed as JSON, is the event. Attribute values that are not
 * strings (a number, a boolean) are kept as their JSON text, as binary mode would carry them.
 */
export function readStructuredCloudEvent(parsed: unknown): CloudEventResult {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return invalid('a structured CloudEvent must be a JSON object');
  const attributes: [string, string][] = [];
  let data: unknown;
  let dataBase64: string | undefined;
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === 'data') {
      data = value;
      continue;
    }
    if (name === 'data_base64') {
      if (typeof value !== 'string') return invalid('data_base64 must be a string');
      dataBase64 = value;
      continue;
    }
    if (!ATTRIBUTE_NAME.test(name)) return invalid(`"${name.slice(0, 40)}" is not a CloudEvents attribute name (lower-case letters and digits, at most 20)`);
    if (value === null) continue; // the JSON format allows null for an absent optional attribute
    if (typeof value === 'object') return invalid(`the attribute ${name} must be a string, number or boolean`);
    attributes.push([name, typeof value === 'string' ? value : JSON.stringify(value)]);
  }
  if (data !== undefined && dataBase64 !== undefined) return invalid('an event has data or data_base64, not both');
  const attrs = Object.fromEntries(attributes);
  if (dataBase64 !== undefined) {
    // Data in base64 is JSON only when the event says so; otherwise it is not available to params.
    const type = mediaTypeOf(attrs.datacontenttype);
    if (type === 'application/json' || type.endsWith('+json')) {
      try {
        data = JSON.parse(Buffer.from(dataBase64, 'base64').toString('utf8'));
      } catch {
        return invalid('data_base64 does not decode to the JSON its datacontenttype announces');
      }
    }
  }
  return checked('structured', attrs, data);
}

function checked(mode: CloudEventMode, attributes: Record<string, string>, data: unknown): CloudEventResult {
  if (attributes.specversion !== SPEC_VERSION) {
    return invalid(`CloudEvents specversion "${(attributes.specversion ?? '').slice(0, 10)}" is not supported (use ${SPEC_VERSION})`);
  }
  for (const name of REQUIRED) {
    if (!attributes[name]) return invalid(`the CloudEvent has no ${name} (${mode === 'binary' ? `header ce-${name}` : `attribute "${name}"`})`);
  }
  // source is a URI-reference, which never holds whitespace; the delivery key relies on that.
  if (/\s/.test(attributes.source!)) return invalid('the CloudEvent source is not a URI-reference');
  return { ok: true, event: { mode, attributes, ...(data !== undefined ? { data } : {}) } };
}

function invalid(message: string): CloudEventResult {
  return { ok: false, code: 'invalid_cloudevent', message };
}

/**
 * The delivery key of an event: the spec makes source + id unique per distinct event, and lets a
 * consumer treat events with the same source and id as duplicates.
 */
export function cloudEventDeliveryKey(event: ReceivedCloudEvent): string {
  return `ce:${event.attributes.source} ${event.attributes.id}`;
}
