import { errorMessage, LecternError } from '../../errors.js';
import type { JoinError } from '../../group/GroupRegistry.js';

/** An HTTP reply for a WHIP/WHEP request that cannot be served: a status and a clear one-line text body. */
export class HttpError extends LecternError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(code, message);
  }
}

/** Failed admissions: bad or missing credentials are 401 (Bearer challenge), the rest 403, 404 no group. */
export function joinErrorToHttp(err: JoinError): HttpError {
  switch (err.code) {
    case 'group-not-found':
      return new HttpError(404, err.code, 'group does not exist');
    case 'not-authorised':
    case 'need-username':
    case 'duplicate-username':
      return new HttpError(401, err.code, `not authorised: ${err.value}`, { 'WWW-Authenticate': 'Bearer' });
    default:
      return new HttpError(403, err.code, err.value);
  }
}

/** A failed offer/answer as the client sees it: 400 for an offer we cannot use, 500 for our own failure. */
export function negotiationError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof LecternError && err.code === 'bad-sdp') return new HttpError(400, 'bad-sdp', err.message);
  return new HttpError(500, 'internal', `cannot accept the offer: ${errorMessage(err)}`);
}
