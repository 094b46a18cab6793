import { LecternError } from '../../errors.js';

export type FfmpegErrorCode = 'ffmpeg-failed' | 'ffmpeg-missing' | 'aborted';

/** ffmpeg could not run, exited non-zero, or was aborted; `stderr` holds its last lines (the reason to show). */
export class FfmpegError extends LecternError {
  constructor(
    override readonly code: FfmpegErrorCode,
    message: string,
    readonly stderr: readonly string[] = [],
    readonly exitCode: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'FfmpegError';
  }
}
