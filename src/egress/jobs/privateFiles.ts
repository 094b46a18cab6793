import { chmod, lstat, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Recordings are private: files 0600, folders 0700. ffmpeg creates its outputs with the process umask
 * (usually 0644), so each job output is made private before it is renamed into place.
 */
export async function makePrivate(p: string): Promise<void> {
  const s = await lstat(p);
  if (s.isDirectory()) {
    await chmod(p, 0o700);
    for (const entry of await readdir(p)) await makePrivate(join(p, entry));
  } else if (s.isFile()) {
    await chmod(p, 0o600);
  }
}

/** Makes the finished temp output `tmp` private, then renames it to `out`. */
export async function publishPrivate(tmp: string, out: string): Promise<void> {
  await makePrivate(tmp);
  await rename(tmp, out);
}
