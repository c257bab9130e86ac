// 415 for a non-JSON body in strict mode, 400 for malformed JSON when the route needs the body, and
// in strict mode 400 for a payload that fails the JSON Schema — with paths and messages, never values.
import { badRequest, unsupportedMediaType } from '../errors.ts';
import { servingRoute, type WebhookMiddleware } from '../webhook-context.ts';

/** Nesting beyond this is refused before JSON.parse could spend time or stack on it. */
const MAX_DEPTH = 64;

export const parsePayload: WebhookMiddleware = async (ctx, next) => {
  const route = servingRoute(ctx);
  if (route.strict && !ctx.is('application/json', 'application/*+json')) throw unsupportedMediaType();
  // A structured CloudEvent was parsed by read-cloudevent: its data stands for the body.
  const structured = ctx.state.cloudEvent?.mode === 'structured';
  if (route.needsJsonBody) {
    if (structured) {
      if (ctx.state.body === undefined) throw badRequest('empty_body', 'this webhook needs JSON data in the CloudEvent');
    } else ctx.state.body = parseJsonBody(ctx.state.rawBody!);
    if (route.strict && route.schema?.validate) {
      const problems = route.schema.validate(ctx.state.body);
      if (problems.length > 0) throw badRequest('schema_violation', 'the payload does not match this webhook\'s schema', problems);
    }
  }
  await next();
};

/** Parses a JSON body: 400 for an empty, too deep, non-UTF-8 or malformed one. */
export function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) throw badRequest('empty_body', 'this webhook needs a JSON body');
  if (exceedsDepth(raw, MAX_DEPTH)) throw badRequest('json_too_deep', `the JSON body nests deeper than ${MAX_DEPTH} levels`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw badRequest('invalid_utf8', 'the body is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest('malformed_json', 'the body is not valid JSON');
  }
}

/** Counts bracket depth outside strings in one pass; cheap next to parsing. */
function exceedsDepth(raw: Buffer, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
