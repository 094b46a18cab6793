/**
 * One entry per recorded lecture. The recorder names each stream's file
 * `<YYYY-MM-DDTHH:MM:SS.mmm>-<user>[-NN].webm` (server-local time); when a publisher's streams end, its last
 * camera and screen files become one recording whose outputs are named after the camera file (else the
 * screen file): `<base>.mp4`, `<base>.hls/index.m3u8`, `<base>.jpg` (src/egress/jobs/handlers.ts, baseOfRecording).
 * So a lecture is a base plus its outputs, plus the other stream file of the same publisher: the job index
 * names it while it remembers the recording; after that, it is the same user's file that overlaps the base's
 * time span and has no outputs of its own.
 */

/** The parts of a recorder file name; undefined for a name the recorder did not make. */
export interface RecorderName {
  /** The recording's start (the server's local time, as the recorder wrote it). */
  start: Date;
  user: string;
}

const NAME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})(?:-(.*?))?(?:-(\d{2}))?$/;

export function parseRecorderName(stem: string): RecorderName | undefined {
  const m = NAME_RE.exec(stem);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s, ms] = m.slice(1, 8).map(Number) as [number, number, number, number, number, number, number];
  const start = new Date(y, mo - 1, d, h, mi, s, ms);
  if (Number.isNaN(start.getTime())) return undefined;
  return { start, user: m[8] ?? '' };
}

export type LectureFileRole = 'composite' | 'camera' | 'screen' | 'stream' | 'thumbnail' | 'other';

export interface LectureFile {
  name: string;
  role: LectureFileRole;
  size: number;
}

/** What grouping needs to know of a file. */
export interface GroupableFile {
  name: string;
  size: number;
  mtime: string;
  duration?: number;
}

export interface Lecture {
  /** The base name the lecture's outputs share (no extension); also its id. */
  id: string;
  /** ISO 8601: when it started (from the file name; else the oldest file's mtime). */
  start: string;
  /** Who presented (the user name in the file name), when known. */
  presenter?: string;
  /** Seconds: the composite's, else the longest stream's. */
  duration?: number;
  /** `<id>.hls/index.m3u8`, when the replay exists. */
  replay?: string;
  /** `<id>.jpg`, when there is one. */
  thumbnail?: string;
  /** Downloads: the composite first, then the camera, the screen and the rest. */
  files: LectureFile[];
}

const stemOf = (name: string) => {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
};
const extOf = (name: string) => {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot).toLowerCase() : '';
};
const STREAM_EXT = new Set(['.webm', '.mkv']);
const ROLE_ORDER: LectureFileRole[] = ['composite', 'camera', 'screen', 'stream', 'other', 'thumbnail'];

/**
 * Groups a folder's files into lectures, newest first. `replays`: the bases that have `<base>.hls/index.m3u8`;
 * `baseOf`: the base the job index knows a file by (a name in the folder, no group prefix), if any.
 */
export function groupLectures(files: GroupableFile[], replays: ReadonlySet<string>, baseOf: (name: string) => string | undefined = () => undefined): Lecture[] {
  const stems = new Map<string, GroupableFile[]>();
  for (const f of files) {
    const s = stemOf(f.name);
    stems.set(s, [...(stems.get(s) ?? []), f]);
  }
  const hasOutputs = (s: string) => replays.has(s) || (stems.get(s) ?? []).some((f) => ['.mp4', '.jpg'].includes(extOf(f.name)));
  // Bases: a stem with outputs, or one the job index names.
  const bases = new Set<string>([...stems.keys()].filter(hasOutputs));
  for (const f of files) {
    const b = baseOf(f.name);
    if (b && stems.has(b)) bases.add(b);
  }
  const span = (s: string) => {
    const parsed = parseRecorderName(s);
    if (!parsed) return undefined;
    const d = Math.max(0, ...(stems.get(s) ?? []).filter((f) => STREAM_EXT.has(extOf(f.name))).map((f) => f.duration ?? 0));
    return { user: parsed.user, from: parsed.start.getTime(), to: parsed.start.getTime() + d * 1000 };
  };
  const overlap = (a: ReturnType<typeof span>, b: ReturnType<typeof span>) =>
    a !== undefined && b !== undefined && a.user === b.user && a.from <= b.to && b.from <= a.to;
  const owner = new Map<string, string>(); // stem -> base
  for (const b of bases) owner.set(b, b);
  for (const s of stems.keys()) {
    if (owner.has(s)) continue;
    const known = [...(stems.get(s) ?? [])].map((f) => baseOf(f.name)).find((b) => b !== undefined && bases.has(b));
    if (known) {
      owner.set(s, known);
      continue;
    }
    const mine = span(s);
    const match = mine && [...bases].find((b) => overlap(mine, span(b)));
    if (match) owner.set(s, match);
  }
  // Files no base claims (still recording, or their jobs not run yet): the same user's overlapping files are
  // one lecture, named after the earliest until the jobs name its base.
  const rest = [...stems.keys()].filter((s) => !owner.has(s)).sort();
  for (const s of rest) {
    if (owner.has(s)) continue;
    owner.set(s, s);
    const mine = span(s);
    if (!mine) continue;
    for (const other of rest) if (!owner.has(other) && overlap(mine, span(other))) owner.set(other, s);
  }

  const lectures = new Map<string, { stems: string[] }>();
  for (const [s, b] of owner) lectures.set(b, { stems: [...(lectures.get(b)?.stems ?? []), s] });

  const out: Lecture[] = [];
  for (const [id, { stems: members }] of lectures) {
    const all = members.flatMap((s) => stems.get(s) ?? []);
    const streams = all.filter((f) => STREAM_EXT.has(extOf(f.name)));
    const lf: LectureFile[] = all.map((f) => {
      const ext = extOf(f.name);
      let role: LectureFileRole = 'other';
      if (ext === '.mp4') role = 'composite';
      else if (ext === '.jpg') role = 'thumbnail';
      else if (STREAM_EXT.has(ext)) {
        // Two stream files: the base is the camera (the jobs name outputs after the camera), the other the screen.
        if (streams.length === 2 && bases.has(id)) role = stemOf(f.name) === id ? 'camera' : 'screen';
        else role = 'stream';
      }
      return { name: f.name, role, size: f.size };
    });
    lf.sort((a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role) || a.name.localeCompare(b.name));
    const parsed = parseRecorderName(id) ?? members.map(parseRecorderName).find((p) => p !== undefined);
    const start = parsed?.start.toISOString() ?? all.map((f) => f.mtime).sort()[0] ?? new Date(0).toISOString();
    const mp4 = all.find((f) => extOf(f.name) === '.mp4' && f.duration !== undefined);
    const longest = Math.max(-1, ...streams.map((f) => f.duration ?? -1));
    const duration = mp4?.duration ?? (longest >= 0 ? longest : undefined);
    const lecture: Lecture = { id, start, files: lf };
    if (parsed?.user) lecture.presenter = parsed.user;
    if (duration !== undefined) lecture.duration = duration;
    if (replays.has(id)) lecture.replay = `${id}.hls/index.m3u8`;
    if (all.some((f) => f.name === `${id}.jpg`)) lecture.thumbnail = `${id}.jpg`;
    out.push(lecture);
  }
  out.sort((a, b) => (a.start < b.start ? 1 : a.start > b.start ? -1 : a.id.localeCompare(b.id)));
  return out;
}

/** A download name made of safe characters only: `<title> – <YYYY-MM-DD HH-MM>[ (role)]<ext>`, in server-local time. */
export function downloadName(title: string, start: Date, role: LectureFileRole, ext: string): string {
  const p = (v: number) => String(v).padStart(2, '0');
  const when = `${start.getFullYear()}-${p(start.getMonth() + 1)}-${p(start.getDate())} ${p(start.getHours())}-${p(start.getMinutes())}`;
  const safeTitle = title.normalize('NFC').replace(/[^\p{L}\p{N} ._()-]+/gu, '_').replace(/^[.\s]+|\s+$/g, '').slice(0, 80) || 'Lecture';
  const suffix = role === 'camera' ? ' (camera)' : role === 'screen' ? ' (screen)' : '';
  return `${safeTitle} – ${when}${suffix}${ext.replace(/[^.a-z0-9]/gi, '')}`;
}
