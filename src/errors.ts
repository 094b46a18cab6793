/** Every error Lectern raises on purpose carries a stable `code` (tests assert on it) and an optional cause. */
export class LecternError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'LecternError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
