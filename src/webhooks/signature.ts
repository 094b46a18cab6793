import { createHmac } from 'node:crypto';

/** The header that carries a webhook body's signature. */
export const SIGNATURE_HEADER = 'X-Lectern-Signature';

/** `sha256=<hex HMAC-SHA256 of the raw body, keyed with the endpoint's secret>`. */
export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
