/** A non-fatal error caused by the client's request: sent back as `usermessage` kind `error`. */
export class UserError extends Error {
  readonly code = 'user-error';
}
