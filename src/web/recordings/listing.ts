import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { JobStatusSource, RecordingJobs } from '../../egress/jobs/jobIndex.js';
import { probeMedia, type MediaInfo } from '../../egress/ffmpeg/index.js';
import type { Logger } from '../../log.js';
import { groupLectures, type Lecture } from './lectures.js';
import { isHiddenName } from './recordingsPath.js';

export interface StreamEntry {
  kind: string;
  codec: string;
  width?: number;
  height?: number;
}

/** One file of the JSON listing. */
export interface FileEntry {
  name: string;
  size: number;
  /** ISO 8601. */
  mtime: string;
  /** Seconds, when ffmpeg could tell. */
  duration?: number;
  streams?: StreamEntry[];
  /** The recording this file belongs to: the name its outputs share, without extension. */
  recording: string;
  /** `<recording>.jpg`, when there is one. */
  thumbnail?: string;
  /** `<recording>.hls/index.m3u8`, the replay, when there is one. */
  replay?: string;
  jobs: RecordingJobs;
}

export interface Listing {
  group: string;
  /** The group's displayName, else its name: the title of its lectures. */
  displayName?: string;
  files: FileEntry[];
  /** The same files, one entry per recorded lecture, newest first. */
  lectures: (Lecture & { jobs: RecordingJobs })[];
  /** Whether the user asking may delete (holds `record`); a read-only member may not. */
  mayDelete?: boolean;
}

/** Files ffmpeg is asked about (duration, streams). */
const MEDIA = new Set(['.webm', '.mkv', '.mp4']);
const PROBE_CACHE_MAX = 2000;
const PROBE_CONCURRENCY = 2;

/**
 * probeMedia with a cache keyed by path, size and mtime (a file being recorded is probed again when it
 * grows), at most PROBE_CONCURRENCY ffmpeg processes at once, and a bounded number of entries.
 */
export class ProbeCache {
  private readonly cache = new Map<string, Promise<MediaInfo | undefined>>();
  private running = 0;
  private readonly queue: (() => void)[] = [];

  constructor(
    private readonly ffmpegPath: string | undefined,
    private readonly log: Logger,
  ) {}

  probe(file: string, size: number, mtimeMs: number): Promise<MediaInfo | undefined> {
    const key = `${file}\0${size}\0${mtimeMs}`;
    let p = this.cache.get(key);
    if (!p) {
      p = this.limited(() => probeMedia(file, this.ffmpegPath ? { ffmpegPath: this.ffmpegPath } : {})).catch((err: unknown) => {
        this.log.debug({ file, err }, 'could not probe a recording');
        return undefined;
      });
      this.cache.set(key, p);
      while (this.cache.size > PROBE_CACHE_MAX) this.cache.delete(this.cache.keys().next().value as string);
    }
    return p;
  }

  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= PROBE_CONCURRENCY) await new Promise<void>((r) => this.queue.push(r));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.queue.shift()?.();
    }
  }
}

function stem(name: string): string {
  const ext = extname(name);
  return ext ? name.slice(0, -ext.length) : name;
}

/** The group folder's visible regular files with what is known of them, newest first. */
export async function listGroupFolder(opts: {
  group: string;
  folder: string | undefined;
  jobs: JobStatusSource | undefined;
  probes: ProbeCache;
}): Promise<Listing> {
  const { group, folder } = opts;
  if (!folder) return { group, files: [], lectures: [] };
  const dirents = await readdir(folder, { withFileTypes: true });
  const visible = dirents.filter((d) => !isHiddenName(d.name));
  const names = new Set(visible.filter((d) => d.isFile()).map((d) => d.name));
  const replays = new Set<string>();
  await Promise.all(
    visible
      .filter((d) => d.isDirectory() && d.name.endsWith('.hls'))
      .map(async (d) => {
        const st = await stat(join(folder, d.name, 'index.m3u8')).catch(() => undefined);
        if (st?.isFile()) replays.add(d.name.slice(0, -'.hls'.length));
      }),
  );
  const files = await Promise.all(
    [...names].map(async (name): Promise<FileEntry | undefined> => {
      const abs = join(folder, name);
      const st = await stat(abs).catch(() => undefined);
      if (!st?.isFile()) return undefined;
      // A file a job named (the screen file of a camera+screen lecture) belongs to that job's recording.
      const known = opts.jobs?.baseOf(`${group}/${name}`);
      const recording = known && dirname(known) === group ? basename(known) : stem(name);
      const entry: FileEntry = {
        name,
        size: st.size,
        mtime: st.mtime.toISOString(),
        recording,
        jobs: opts.jobs?.jobsOf(`${group}/${recording}`) ?? {},
      };
      if (names.has(`${recording}.jpg`) && name !== `${recording}.jpg`) entry.thumbnail = `${recording}.jpg`;
      if (replays.has(recording)) entry.replay = `${recording}.hls/index.m3u8`;
      if (MEDIA.has(extname(name).toLowerCase())) {
        const info = await opts.probes.probe(abs, st.size, st.mtimeMs);
        if (info) {
          if (info.durationSeconds !== undefined) entry.duration = info.durationSeconds;
          entry.streams = info.streams
            .filter((s) => s.type === 'video' || s.type === 'audio')
            .map((s) => ({
              kind: s.type,
              codec: s.codec,
              ...(s.width !== undefined ? { width: s.width } : {}),
              ...(s.height !== undefined ? { height: s.height } : {}),
            }));
        }
      }
      return entry;
    }),
  );
  const out = files.filter((f): f is FileEntry => f !== undefined);
  out.sort((a, b) => (a.mtime < b.mtime ? 1 : a.mtime > b.mtime ? -1 : a.name.localeCompare(b.name)));
  const inFolder = (name: string) => {
    const known = opts.jobs?.baseOf(`${group}/${name}`);
    return known && dirname(known) === group ? basename(known) : undefined;
  };
  const lectures = groupLectures(out, replays, inFolder);
  // `recording` names the lecture too (a screen file grouped by its time span, once the jobs are forgotten).
  const lectureOf = new Map(lectures.flatMap((l) => l.files.map((f) => [f.name, l] as const)));
  for (const f of out) {
    const l = lectureOf.get(f.name);
    if (!l || l.id === f.recording) continue;
    f.recording = l.id;
    f.jobs = opts.jobs?.jobsOf(`${group}/${l.id}`) ?? {};
    if (l.thumbnail && f.name !== l.thumbnail) f.thumbnail = l.thumbnail;
    if (l.replay) f.replay = l.replay;
  }
  return { group, files: out, lectures: lectures.map((l) => ({ ...l, jobs: opts.jobs?.jobsOf(`${group}/${l.id}`) ?? {} })) };
}
