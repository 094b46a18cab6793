import { isValidGroupName } from '../config/groupFiles.js';

/**
 * Splits a request path under /group/ into a group name and what is asked of it, refusing the names Galène
 * refuses (config/groupFiles.ts).
 */
export type GroupRequest =
  | { kind: 'page'; group: string }
  | { kind: 'no-slash'; group: string }
  | { kind: 'status'; group: string }
  | { kind: 'status-json'; group: string };

/** `rawPath` is the still-encoded path after "/group/". Encoded slashes are refused rather than decoded. */
export function parseGroupPath(rawPath: string): GroupRequest | undefined {
  if (/%2f|%5c|%00/i.test(rawPath)) return undefined;
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return undefined;
  }
  const suffixes: [string, GroupRequest['kind']][] = [
    ['/.status.json', 'status-json'],
    ['/.status', 'status'],
    ['/', 'page'],
  ];
  for (const [suffix, kind] of suffixes) {
    if (path.endsWith(suffix)) {
      const group = path.slice(0, -suffix.length);
      return isValidGroupName(group) ? { kind, group } : undefined;
    }
  }
  return isValidGroupName(path) ? { kind: 'no-slash', group: path } : undefined;
}
