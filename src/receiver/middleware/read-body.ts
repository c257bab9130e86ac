// Reads the raw body up to the trigger's limit: 413 as soon as the limit is crossed (from
// Content-Length before reading anything, or while streaming), without buffering the excess.
import type { IncomingMessage } from 'node:http';
import { badRequest, busy, tooLarge } from '../errors.ts';
import { servingRoute, type WebhookMiddleware } from '../webhook-context.ts';

export const readBody: WebhookMiddleware = async (ctx, next) => {
  const limit = servingRoute(ctx).maxBytes;
  const declared = ctx.get('content-length');
  // Nothing is read: respondWithErrors answers with Connection: close, so the excess is never read.
  if (declared && Number(declared) > limit) throw tooLarge(limit);
  // Bytes beyond what was declared (and held) when the request was admitted take more budget.
  const budget = ctx.state.budget;
  let held = budget?.declared ?? Infinity;
  const take = (size: number): boolean => {
    if (!budget || size <= held) return true;
    const more = size - held;
    held = size;
    return budget.ticket.grow(more);
  };
  ctx.state.rawBody = await readLimited(ctx.req, limit, take);
  await next();
};

function readLimited(req: IncomingMessage, limit: number, take: (size: number) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        // Stop pulling from the socket; the 413 goes out with Connection: close.
        req.pause();
        reject(tooLarge(limit));
        return;
      }
      if (!take(size)) {
        cleanup();
        req.pause();
        reject(busy());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = () => {
      cleanup();
      reject(badRequest('body_read_failed', 'the request body could not be read'));
    };
    // A stream closed before its 'end' (the client went away, the request timeout hit) does not
    // always emit 'error' or 'aborted'; without this the request would wait forever. After 'end'
    // this listener is already gone.
    const onClose = onError;
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onError);
    req.on('close', onClose);
  });
}
