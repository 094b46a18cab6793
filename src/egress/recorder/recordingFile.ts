import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { WebmWriter, type WriterTrack } from './WebmWriter.js';

/** Galène's file name: `<YYYY-MM-DDTHH:MM:SS.mmm>[-user][-NN].webm`, in local time. */
export function recordingFileName(date: Date, username: string, n: number): string {
  const p = (v: number, w = 2) => String(v).padStart(w, '0');
  const stamp =
    `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}T` +
    `${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}.${p(date.getMilliseconds(), 3)}`;
  // A user name never leaves the group's folder nor hides the file.
  const user = username.replace(/[/\\\0]/g, '_').replace(/^\.+/, '');
  return `${stamp}${user ? `-${user}` : ''}${n > 0 ? `-${p(n)}` : ''}.webm`;
}

/** Creates a new recording file of `group` in `recordingsDir`, never overwriting one (adds -01, -02...). */
export async function createRecordingFile(
  recordingsDir: string,
  group: string,
  username: string,
  tracks: WriterTrack[],
  date = new Date(),
): Promise<WebmWriter> {
  const dir = path.join(recordingsDir, group);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (let n = 0; ; n++) {
    try {
      return await WebmWriter.create(path.join(dir, recordingFileName(date, username, n)), tracks);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || n >= 99) throw e;
    }
  }
}
