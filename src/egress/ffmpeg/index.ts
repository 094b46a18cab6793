export * from './args.js';
export { FfmpegError, type FfmpegErrorCode } from './FfmpegError.js';
export { runFfmpeg, defaultFfmpegPath, type RunFfmpegOptions, type FfmpegResult } from './runFfmpeg.js';
export { probeMedia, type MediaInfo } from './probe.js';
export { parseDuration, parseStreams, type StreamInfo } from './parse.js';
