import { isValidGroupName } from '../../config/groupFiles.js';

/** `/group/<g>/.hls/<file>`: the group and the file name, or undefined when the path is not one of ours
 *  or unsafe (encoded slashes, `..`, hidden or sub-folder names, unknown extensions). */
export function parseHlsPath(rawPath: string): { group: string; file: string } | undefined {
  if (/%2f|%5c|%00/i.test(rawPath)) return undefined;
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return undefined;
  }
  const at = path.lastIndexOf('/.hls/');
  if (at <= 0) return undefined;
  const group = path.slice(0, at);
  const file = path.slice(at + '/.hls/'.length);
  if (!isValidGroupName(group)) return undefined;
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9]+)?\.(m3u8|m4s|mp4|ts)$/.test(file)) return undefined;
  return { group, file };
}
