import type { Request, Response } from 'express';

/** An admin API failure: the status and the plain-text message the client gets. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const notFound = (what = 'not found') => new ApiError(404, what);

export function methodNotAllowed(methods: string): ApiError {
  return new ApiError(405, 'method not allowed', { Allow: `OPTIONS, ${methods}` });
}

/** Throws 405 unless the request's method is one of `methods` (HEAD counts as GET). */
export function allowMethods(req: Request, methods: readonly string[]): void {
  const m = req.method === 'HEAD' ? 'GET' : req.method;
  if (!methods.includes(m)) {
    const list = methods.flatMap((x) => (x === 'GET' ? ['HEAD', 'GET'] : [x])).join(', ');
    throw methodNotAllowed(list);
  }
}

export function sendJson(req: Request, res: Response, v: unknown, status = 200): void {
  res.status(status).type('application/json');
  if (req.method === 'HEAD') return void res.end();
  res.send(`${JSON.stringify(v)}\n`);
}

export const MAX_BODY_BYTES = 1 << 20;

function mediaType(req: Request): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Reads the whole body as text, refusing other media types (415) and bodies over 1 MiB (413). */
export async function readBody(req: Request, type: string): Promise<string> {
  if (mediaType(req) !== type) throw new ApiError(415, `unsupported content type, expected ${type}`, { Accept: type });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, 'request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads a JSON body (400 with the parser's reason when it is not JSON). */
export async function readJson(req: Request, type = 'application/json'): Promise<unknown> {
  const text = await readBody(req, type);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, `bad JSON: ${(err as Error).message}`);
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Whether an If-Match / If-None-Match value matches `etag` ("" meaning the resource does not exist). */
export function etagMatches(etag: string, header: string): boolean {
  for (const part of header.split(',')) {
    const p = part.trim();
    if (p === '*') return etag !== '';
    const bare = p.startsWith('W/') ? p.slice(2) : p;
    if (etag !== '' && bare === etag) return true;
  }
  return false;
}

/**
 * RFC 7232 preconditions as Galène evaluates them: If-Match that does not match is 412; If-None-Match that
 * matches is 304 for reads and 412 for writes. `etag` is "" for a resource that does not exist. A write
 * without any precondition is allowed, as in Galène. Returns true when the reply has been sent.
 */
export function checkPreconditions(req: Request, res: Response, etag: string): boolean {
  const im = req.headers['if-match'];
  if (im !== undefined && !etagMatches(etag, im)) {
    res.status(412).type('text/plain').send('precondition failed: the resource has changed\n');
    return true;
  }
  const inm = req.headers['if-none-match'];
  if (inm !== undefined && etagMatches(etag, inm)) {
    if (req.method === 'GET' || req.method === 'HEAD') res.status(304).end();
    else res.status(412).type('text/plain').send('precondition failed: the resource already exists\n');
    return true;
  }
  return false;
}
