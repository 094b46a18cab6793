export * from './types.js';
export { resolveInRecordings } from './paths.js';
export {
  createEgressHandlers,
  recordingBase,
  recordingFiles,
  withFfmpegReason,
  type EgressContext,
  type EgressHandlerOptions,
  type EgressHandlers,
} from './handlers.js';
export { registerEgressJobs, onRecordingFinished, type RegisterEgressOptions } from './register.js';
