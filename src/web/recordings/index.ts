export { recordingsRouter, contentTypeOf, type RecordingsDeps } from './router.js';
export { parseRecordingsPath, groupFolder, fileInFolder, RecordingsPathError } from './recordingsPath.js';
export type { FileEntry, Listing } from './listing.js';
