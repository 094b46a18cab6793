import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './HttpError.js';

/** The largest SDP or fragment body accepted (as Galène: 1 MiB). */
export const BODY_LIMIT = 1 << 20;

/** The media type of a request, lower case, without parameters ('' when absent). */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

export function requireMediaType(req: IncomingMessage, type: string): void {
  if (mediaType(req) !== type) {
    throw new HttpError(415, 'bad-content-type', `the body must be ${type}`, { Accept: type });
  }
}

/**
 * The request body as UTF-8 text; 413 beyond BODY_LIMIT. The rest of an oversized body is read and dropped
 * before the 413 is sent: a client still writing when the server closes would get a reset that throws away
 * the answer unread (node's request timeout bounds a body that never ends).
 */
export function readBody(req: IncomingMessage): Promise<string> {
  const tooLarge = () => new HttpError(413, 'too-large', `the body is larger than ${BODY_LIMIT} bytes`);
  if (Number(req.headers['content-length']) > BODY_LIMIT) return drainThenFail(req, tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > BODY_LIMIT) {
        req.off('data', onData);
        drainThenFail(req, tooLarge()).catch(reject);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', (err) => reject(new HttpError(400, 'bad-body', `cannot read the body: ${err.message}`)));
  });
}

function drainThenFail(req: IncomingMessage, err: HttpError): Promise<never> {
  req.resume();
  return new Promise((_resolve, reject) => {
    if (req.complete) reject(err);
    req.once('end', () => reject(err));
    req.once('close', () => reject(err));
  });
}

/** The token of an `Authorization: Bearer <token>` header, if any. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Galène's CORS rule for WHIP: the Origin is echoed when config.json's allowOrigin lists it (or "*"). */
export function allowCors(req: IncomingMessage, res: ServerResponse, allowOrigin: readonly string[]): void {
  const origin = req.headers.origin;
  if (!origin) return;
  if (allowOrigin.includes('*') || allowOrigin.includes(origin)) {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Vary', 'Origin');
  }
}

/** `If-Match` (RFC 9110): absent, `*` or the current tag passes; anything else is 412. */
export function checkIfMatch(req: IncomingMessage, etag: string): void {
  const h = req.headers['if-match'];
  if (h === undefined) return;
  const tags = h.split(',').map((t) => t.trim().replace(/^W\//, ''));
  if (tags.includes('*') || tags.includes(etag)) return;
  throw new HttpError(412, 'precondition-failed', 'the ETag does not match this session (If-Match)');
}
