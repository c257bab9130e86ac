// Reads the raw body up to the trigger's limit: 413 as soon as the limit is crossed (from
// Content-Length before reading anything, or while streaming), without buffering the excess.
import type { IncomingMessage } from 'node:http';
import { badRequest, tooLarge, WebhookError } from '../errors.ts';
import type { WebhookMiddleware } from '../webhook-context.ts';

export const readBody: WebhookMiddleware = async (ctx, next) => {
  const limit = ctx.state.route!.maxBytes;
  const declared = ctx.get('content-length');
  if (declared && Number(declared) > limit) {
    refuseRestOfBody(ctx.req);
    throw tooLarge(limit);
  }
  ctx.state.rawBody = await readLimited(ctx.req, limit);
  await next();
};

function readLimited(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        refuseRestOfBody(req);
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e instanceof WebhookError ? e : badRequest('body_read_failed', 'the request body could not be read'));
    };
    const onAborted = () => onError(new Error('aborted'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/** Stops reading; the 413 answer carries `Connection: close`, so the excess is never read. */
function refuseRestOfBody(req: IncomingMessage): void {
  req.pause();
}
