/** Parsing ffmpeg's human-readable stderr: pure functions, unit-tested in parse.test.ts. */

/** "Duration: 00:01:02.50," -> 62.5; undefined when absent or N/A. */
export function parseDuration(text: string): number | undefined {
  const m = /Duration:\s*(\d+):(\d{2}):(\d{2}(?:\.\d+)?)/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

export interface StreamInfo {
  /** "0:1" */
  id: string;
  type: 'video' | 'audio' | 'subtitle' | 'data' | 'attachment';
  codec: string;
  width?: number;
  height?: number;
}

/** The "Stream #0:0...: Video: vp8, yuv420p, 320x240, ..." lines of the first input. */
export function parseStreams(text: string): StreamInfo[] {
  const out: StreamInfo[] = [];
  const firstOutput = text.search(/^Output #/m);
  const inputPart = firstOutput >= 0 ? text.slice(0, firstOutput) : text;
  const re = /^\s*Stream #(\d+:\d+)[^:]*: (Video|Audio|Subtitle|Data|Attachment): ([^\s,]+)(.*)$/gm;
  for (let m = re.exec(inputPart); m; m = re.exec(inputPart)) {
    const info: StreamInfo = { id: m[1]!, type: m[2]!.toLowerCase() as StreamInfo['type'], codec: m[3]! };
    const size = info.type === 'video' ? /[ ,](\d{2,5})x(\d{2,5})[ ,\]]/.exec(m[4]! + ' ') : null;
    if (size) {
      info.width = Number(size[1]);
      info.height = Number(size[2]);
    }
    out.push(info);
  }
  return out;
}

/** Keeps the last `max` complete lines of a stream of text chunks. */
export class StderrTail {
  private readonly buf: string[] = [];
  private partial = '';

  constructor(private readonly max: number) {}

  push(chunk: string): void {
    const parts = (this.partial + chunk).split(/\r?\n|\r/);
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.add(line);
  }

  flush(): void {
    if (this.partial) this.add(this.partial);
    this.partial = '';
  }

  lines(): string[] {
    return [...this.buf];
  }

  private add(line: string): void {
    const l = line.trimEnd();
    if (!l) return;
    this.buf.push(l);
    if (this.buf.length > this.max) this.buf.shift();
  }
}
