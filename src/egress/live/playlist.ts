/**
 * The playlists viewers read, built from the media playlists of the job's ffmpeg runs. Each run writes
 * its own files (`<prefix>.m3u8`, `<prefix>-init.mp4`, `<prefix>-NNNNN.m4s`); a restart (codec change,
 * dead ffmpeg) starts a new run, joined to the previous one with `#EXT-X-DISCONTINUITY` and a new
 * `#EXT-X-MAP`. `event.m3u8` lists every segment (EVENT, for rewinding); `index.m3u8` the last few (live).
 */

export interface Segment {
  uri: string;
  duration: number;
  /** `#EXT-X-PROGRAM-DATE-TIME` as written by ffmpeg, when present. */
  programDateTime?: string;
}

/** One ffmpeg run's media playlist, parsed. */
export interface RunPlaylist {
  /** `#EXT-X-MAP` URI (fMP4 init segment); undefined for MPEG-TS. */
  map?: string;
  segments: Segment[];
}

const SAFE_URI = /^[A-Za-z0-9._-]+$/;

/** Parses ffmpeg's media playlist; lines it does not need are ignored, URIs must be plain file names. */
export function parseMediaPlaylist(text: string): RunPlaylist {
  const out: RunPlaylist = { segments: [] };
  let duration: number | undefined;
  let pdt: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#EXT-X-MAP:')) {
      const m = /URI="([^"]+)"/.exec(line);
      if (m && SAFE_URI.test(m[1]!)) out.map = m[1]!;
    } else if (line.startsWith('#EXTINF:')) {
      const d = Number.parseFloat(line.slice('#EXTINF:'.length));
      duration = Number.isFinite(d) && d >= 0 ? d : undefined;
    } else if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) {
      pdt = line.slice('#EXT-X-PROGRAM-DATE-TIME:'.length);
    } else if (!line.startsWith('#')) {
      if (duration !== undefined && SAFE_URI.test(line)) {
        out.segments.push({ uri: line, duration, ...(pdt ? { programDateTime: pdt } : {}) });
      }
      duration = undefined;
      pdt = undefined;
    }
  }
  return out;
}

export interface BuildOptions {
  /** Segments in the live playlist (default 6). */
  window?: number;
  /** Add `#EXT-X-ENDLIST`. */
  ended: boolean;
}

interface Placed extends Segment {
  map?: string;
  /** First segment of a run that follows another run. */
  discontinuity: boolean;
}

function flatten(runs: readonly RunPlaylist[]): Placed[] {
  const all: Placed[] = [];
  let previousRuns = false;
  for (const run of runs) {
    if (run.segments.length === 0) continue;
    run.segments.forEach((s, i) => all.push({ ...s, ...(run.map ? { map: run.map } : {}), discontinuity: i === 0 && previousRuns }));
    previousRuns = true;
  }
  return all;
}

function render(type: 'EVENT' | undefined, list: Placed[], mediaSequence: number, discontinuitySequence: number, ended: boolean): string {
  const target = Math.max(1, Math.ceil(Math.max(0, ...list.map((s) => s.duration))));
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', `#EXT-X-TARGETDURATION:${target}`, `#EXT-X-MEDIA-SEQUENCE:${mediaSequence}`];
  if (discontinuitySequence > 0) lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${discontinuitySequence}`);
  if (type) lines.push(`#EXT-X-PLAYLIST-TYPE:${type}`);
  lines.push('#EXT-X-INDEPENDENT-SEGMENTS');
  let map: string | undefined;
  for (const [i, s] of list.entries()) {
    if (s.discontinuity && i > 0) lines.push('#EXT-X-DISCONTINUITY');
    if (s.map && s.map !== map) {
      lines.push(`#EXT-X-MAP:URI="${s.map}"`);
      map = s.map;
    }
    if (s.programDateTime) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${s.programDateTime}`);
    lines.push(`#EXTINF:${s.duration.toFixed(6)},`, s.uri);
  }
  if (ended) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

/** The EVENT playlist (every segment) and the sliding live playlist (the last `window`). */
export function buildPlaylists(runs: readonly RunPlaylist[], opts: BuildOptions): { event: string; live: string; segments: number } {
  const all = flatten(runs);
  const window = Math.max(1, opts.window ?? 6);
  const start = Math.max(0, all.length - window);
  const discontinuitySequence = all.slice(0, start + 1).filter((s, i) => s.discontinuity && i <= start).length;
  // The live window's first segment carries its own discontinuity in the sequence count, not as a tag.
  const liveList = all.slice(start).map((s, i) => (i === 0 ? { ...s, discontinuity: false } : s));
  return {
    event: render('EVENT', all, 0, 0, opts.ended),
    live: render(undefined, liveList, start, discontinuitySequence, opts.ended),
    segments: all.length,
  };
}
