/**
 * The recordings page (`/recordings/<g>/`, served by src/web/recordings with a plain table as fallback):
 * one card per recording with its thumbnail, the progress of its jobs (the JSON listing, polled every
 * 2 s), a player for the composite replay (`<rec>.hls/index.m3u8`, through hls.js, loaded on first play)
 * and download and delete buttons for its files.
 */
import { h } from './dom.js';
import { chooseLanguage, pickStrings, type Strings } from './strings.js';

const POLL_MS = 2000;
const JOB_ORDER = ['finalize', 'composite', 'hls-vod', 'thumbnail'] as const;

interface JobStatus {
  state: string;
  progress: number;
  failedReason?: string;
}
interface FileEntry {
  name: string;
  size: number;
  mtime: string;
  duration?: number;
  recording: string;
  thumbnail?: string;
  replay?: string;
  jobs: Partial<Record<string, JobStatus>>;
}
interface Listing {
  group: string;
  files: FileEntry[];
  mayDelete?: boolean;
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** Files grouped by the recording they belong to, newest recording first, the MP4 first within one. */
function byRecording(files: FileEntry[]): Map<string, FileEntry[]> {
  const out = new Map<string, FileEntry[]>();
  const sorted = [...files].sort((a, b) => (a.mtime < b.mtime ? 1 : a.mtime > b.mtime ? -1 : 0));
  for (const f of sorted) {
    if (f.name === f.thumbnail || f.name === `${f.recording}.jpg`) {
      if (!out.has(f.recording)) out.set(f.recording, []);
      continue; // a thumbnail is shown, not offered for download
    }
    const list = out.get(f.recording) ?? [];
    list.push(f);
    out.set(f.recording, list);
  }
  for (const list of out.values()) list.sort((a, b) => Number(b.name.endsWith('.mp4')) - Number(a.name.endsWith('.mp4')));
  return out;
}

class Player {
  readonly el: HTMLElement;
  readonly video: HTMLVideoElement;
  private readonly title: HTMLElement;
  private readonly error: HTMLElement;
  private hls: { destroy(): void } | undefined;

  constructor(private readonly t: Strings) {
    this.title = h('h2', { id: 'player-h' }, t.replay);
    this.video = h('video', { controls: true, playsinline: true, 'aria-labelledby': 'player-h' });
    this.error = h('p', { class: 'error', role: 'alert' });
    this.el = h('section', { class: 'replay-player', 'aria-labelledby': 'player-h', hidden: true }, this.title, this.video, this.error);
  }

  async play(recording: string, url: string): Promise<void> {
    this.el.hidden = false;
    this.title.textContent = `${this.t.replay}: ${recording}`;
    this.error.textContent = '';
    this.hls?.destroy();
    this.hls = undefined;
    this.video.removeAttribute('src');
    const { default: Hls } = await import('hls.js');
    if (Hls.isSupported()) {
      const hls = new Hls();
      this.hls = hls;
      hls.on(Hls.Events.ERROR, (_event, data) => {
        if (data.fatal) this.error.textContent = `${this.t.replayUnsupported} (${data.details})`;
      });
      hls.loadSource(url);
      hls.attachMedia(this.video);
    } else if (this.video.canPlayType('application/vnd.apple.mpegurl')) {
      this.video.src = url; // Safari plays HLS itself
    } else {
      this.error.textContent = this.t.replayUnsupported;
      return;
    }
    this.el.scrollIntoView({ block: 'nearest' });
    this.video.focus();
    await this.video.play().catch(() => undefined); // autoplay may be refused: the controls are there
  }
}

function main(): void {
  const lang = chooseLanguage(new URL(window.location.href).searchParams.get('lang'), navigator.languages ?? [navigator.language]);
  document.documentElement.lang = lang;
  const t = pickStrings(lang);
  const root = document.getElementById('app') ?? document.body;
  const group = root.dataset.group ?? decodeURIComponent(window.location.pathname.replace(/^\/recordings\/|\/$/g, ''));
  const plain = root.querySelector('main');
  document.title = t.recordingsTitle(group);

  const groupHref = `/group/${group.split('/').map(encodeURIComponent).join('/')}/`;
  const status = h('p', { class: 'recordings-status', role: 'status', 'aria-live': 'polite' });
  const list = h('ul', { class: 'recordings-list', 'aria-labelledby': 'recordings-h' });
  const player = new Player(t);
  const live = h(
    'main',
    { class: 'recordings' },
    player.el,
    h('section', { 'aria-labelledby': 'recordings-h' }, h('h2', { id: 'recordings-h' }, t.recordingsLink), status, list),
  );
  root.replaceChildren(
    h('header', {}, h('h1', {}, t.recordingsTitle(group)), h('a', { href: groupHref, class: 'back' }, t.backToGroup)),
    live,
  );
  // Kept for its delete forms if the JSON cannot be had; hidden once the live list shows.
  if (plain) {
    plain.hidden = true;
    root.append(plain);
  }

  const cards = new Map<string, { li: HTMLLIElement; key: string }>();

  function jobsOf(files: FileEntry[]): Partial<Record<string, JobStatus>> {
    return files.find((f) => Object.keys(f.jobs).length > 0)?.jobs ?? {};
  }

  function card(recording: string, files: FileEntry[], all: FileEntry[]): HTMLLIElement {
    const li = h('li', { class: 'recording', 'data-recording': recording });
    const withExtras = all.filter((f) => f.recording === recording);
    const thumb = withExtras.find((f) => f.thumbnail)?.thumbnail;
    if (thumb) li.append(h('img', { class: 'thumbnail', src: `${encodeURIComponent(thumb)}`, alt: '', width: '160' }));
    const heading = h('h3', {}, recording);
    const duration = files.find((f) => f.duration !== undefined)?.duration;
    if (duration !== undefined) heading.append(' ', h('span', { class: 'duration' }, `(${formatDuration(duration)})`));
    li.append(heading);

    const jobs = jobsOf(withExtras);
    const jobList = h('ul', { class: 'jobs' });
    for (const name of JOB_ORDER) {
      const job = jobs[name];
      if (!job) continue;
      const label = `${t.jobLabel(name)}: ${t.jobState(job.state)}`;
      const bar = h('progress', { max: '100', value: String(Math.round(job.progress)), 'aria-label': t.jobLabel(name) });
      const item = h('li', { 'data-job': name, 'data-state': job.state }, bar, ' ', label, job.state === 'active' ? ` ${Math.round(job.progress)} %` : '');
      if (job.failedReason) item.append(h('pre', { class: 'failed-reason' }, job.failedReason));
      jobList.append(item);
    }
    if (jobList.childElementCount > 0) li.append(jobList);

    const replay = withExtras.find((f) => f.replay)?.replay;
    if (replay) {
      const play = h('button', { type: 'button', class: 'play-replay' }, t.playReplay(recording));
      play.addEventListener('click', () => void player.play(recording, new URL(replay.split('/').map(encodeURIComponent).join('/'), window.location.href).pathname));
      li.append(play);
    }
    const downloads = h('ul', { class: 'downloads' });
    for (const f of files) {
      const href = encodeURIComponent(f.name);
      const item = h('li', {}, h('a', { href, download: f.name }, t.downloadFile(f.name, formatSize(f.size))));
      if (mayDelete) {
        const del = h(
          'form',
          { method: 'post', action: './', class: 'delete' },
          h('input', { type: 'hidden', name: 'q', value: 'delete' }),
          h('input', { type: 'hidden', name: 'filename', value: f.name }),
          h('button', { type: 'submit', 'aria-label': t.deleteFile(f.name) }, '✕'),
        );
        del.addEventListener('submit', (e) => {
          if (!window.confirm(t.confirmDelete(f.name))) e.preventDefault();
        });
        item.append(' ', del);
      }
      downloads.append(item);
    }
    li.append(downloads);
    return li;
  }

  let mayDelete = false;

  function render(listing: Listing): void {
    if ((listing.mayDelete === true) !== mayDelete) {
      // rebuild every card, with or without its delete buttons
      for (const entry of cards.values()) entry.li.remove();
      cards.clear();
    }
    mayDelete = listing.mayDelete === true;
    const groups = byRecording(listing.files);
    status.textContent = groups.size === 0 ? t.noRecordings : '';
    const seen = new Set<string>();
    let previous: Element | null = null;
    for (const [recording, files] of groups) {
      seen.add(recording);
      const all = listing.files.filter((f) => f.recording === recording);
      const key = JSON.stringify(all);
      let entry = cards.get(recording);
      // Only a card whose data changed is rebuilt, so focus and the page stay put between polls.
      if (!entry || entry.key !== key) {
        const li = card(recording, files, all);
        if (entry) entry.li.replaceWith(li);
        entry = { li, key };
        cards.set(recording, entry);
      }
      const expected: Element | null = previous ? previous.nextElementSibling : list.firstElementChild;
      if (expected !== entry.li) {
        if (previous) previous.after(entry.li);
        else list.prepend(entry.li);
      }
      previous = entry.li;
    }
    for (const [recording, entry] of cards) {
      if (seen.has(recording)) continue;
      entry.li.remove();
      cards.delete(recording);
    }
  }

  const poll = async (): Promise<void> => {
    try {
      const res = await fetch(window.location.pathname, { headers: { Accept: 'application/json' }, cache: 'no-store' });
      if (!res.ok) throw new Error(`${res.status} ${(await res.text()).trim()}`);
      render((await res.json()) as Listing);
    } catch (err) {
      status.textContent = t.recordingsLoadFailed(err instanceof Error ? err.message : String(err));
      if (plain && cards.size === 0) plain.hidden = false;
    }
    setTimeout(() => void poll(), POLL_MS);
  };
  void poll();
  (window as unknown as { lecternRecordings: unknown }).lecternRecordings = { player };
}

main();
