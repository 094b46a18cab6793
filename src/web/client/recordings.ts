/**
 * The recordings page (`/recordings/<g>/`, served by src/web/recordings with a plain table as fallback):
 * one card per recorded lecture (the listing's `lectures`, polled every 2 s) titled with the group's
 * displayName and the local date and time, with its thumbnail, presenter, duration, the progress of its jobs,
 * a player for the composite replay (`<id>.hls/index.m3u8`, through hls.js, loaded on first play), named
 * downloads and, for those who may delete, a delete step (with a confirmation) below them.
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
interface LectureFile {
  name: string;
  role: string;
  size: number;
}
interface Lecture {
  id: string;
  start: string;
  presenter?: string;
  duration?: number;
  replay?: string;
  thumbnail?: string;
  files: LectureFile[];
  jobs: Partial<Record<string, JobStatus>>;
}
interface Listing {
  group: string;
  displayName?: string;
  files: FileEntry[];
  lectures?: Lecture[];
  mayDelete?: boolean;
}

/** How a file's format is named to people: WebM, MP4... */
function formatName(name: string): string {
  const ext = (name.split('.').pop() ?? '').toLowerCase();
  return ({ webm: 'WebM', mp4: 'MP4', mkv: 'MKV' } as Record<string, string>)[ext] ?? ext.toUpperCase();
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

  async play(title: string, url: string): Promise<void> {
    this.el.hidden = false;
    this.title.textContent = `${this.t.replay}: ${title}`;
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

  const heading = h('h1', {}, t.recordingsTitle(group));
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
    h('header', {}, heading, h('a', { href: groupHref, class: 'back' }, t.backToGroup)),
    live,
  );
  // Kept for its delete forms if the JSON cannot be had; hidden once the live list shows.
  if (plain) {
    plain.hidden = true;
    root.append(plain);
  }

  const cards = new Map<string, { li: HTMLLIElement; key: string }>();
  const when = new Intl.DateTimeFormat(lang, { dateStyle: 'long', timeStyle: 'short' });
  let mayDelete = false;
  let title = group;

  function card(lecture: Lecture): HTMLLIElement {
    const li = h('li', { class: 'recording', 'data-recording': lecture.id });
    const started = new Date(lecture.start);
    const heading = `${title} — ${Number.isNaN(started.getTime()) ? lecture.start : when.format(started)}`;
    if (lecture.thumbnail) li.append(h('img', { class: 'thumbnail', src: encodeURIComponent(lecture.thumbnail), alt: '', width: '160' }));
    li.append(h('h3', {}, heading));
    const facts = h('p', { class: 'facts' });
    if (lecture.presenter) facts.append(t.presentedBy(lecture.presenter));
    if (lecture.duration !== undefined) facts.append(lecture.presenter ? ' · ' : '', h('span', { class: 'duration' }, formatDuration(lecture.duration)));
    if (facts.childNodes.length > 0) li.append(facts);

    const jobList = h('ul', { class: 'jobs' });
    for (const name of JOB_ORDER) {
      const job = lecture.jobs[name];
      if (!job) continue;
      const label = `${t.jobLabel(name)}: ${t.jobState(job.state)}`;
      const bar = h('progress', { max: '100', value: String(Math.round(job.progress)), 'aria-label': t.jobLabel(name) });
      const item = h('li', { 'data-job': name, 'data-state': job.state }, bar, ' ', label, job.state === 'active' ? ` ${Math.round(job.progress)} %` : '');
      if (job.failedReason) item.append(h('pre', { class: 'failed-reason' }, job.failedReason));
      jobList.append(item);
    }
    if (jobList.childElementCount > 0) li.append(jobList);

    if (lecture.replay) {
      const replay = lecture.replay;
      const play = h('button', { type: 'button', class: 'play-replay' }, t.playReplay(heading));
      play.addEventListener('click', () => void player.play(heading, new URL(replay.split('/').map(encodeURIComponent).join('/'), window.location.href).pathname));
      li.append(play);
    }
    const downloads = h('ul', { class: 'downloads', 'aria-label': t.downloadsHeading });
    for (const f of lecture.files) {
      if (f.role === 'thumbnail') continue; // shown, not offered
      const ext = formatName(f.name);
      // No value for `download`: the server's Content-Disposition gives the readable name.
      const link = h('a', { href: encodeURIComponent(f.name), download: '', 'data-role': f.role }, t.downloadRole(f.role, ext));
      downloads.append(h('li', {}, link, ' ', h('span', { class: 'size' }, `(${formatSize(f.size)})`)));
    }
    li.append(downloads);

    if (mayDelete) {
      // Away from the downloads, and two steps: the button only opens the confirmation.
      const zone = h('div', { class: 'delete-zone' });
      const ask = h('button', { type: 'button', class: 'delete-lecture' }, t.deleteLecture);
      const error = h('p', { class: 'error', role: 'alert' });
      const question = h('p', {}, t.confirmDeleteLecture(heading, lecture.files.length));
      const yes = h('button', { type: 'button', class: 'confirm-delete danger' }, t.confirmDeleteYes);
      const no = h('button', { type: 'button', class: 'cancel-delete' }, t.cancel);
      const confirmBox = h('div', { class: 'confirm', role: 'group', 'aria-label': t.deleteLecture, hidden: true }, question, h('span', { class: 'confirm-buttons' }, yes, ' ', no));
      ask.addEventListener('click', () => {
        ask.hidden = true;
        confirmBox.hidden = false;
        no.focus();
      });
      no.addEventListener('click', () => {
        confirmBox.hidden = true;
        ask.hidden = false;
        ask.focus();
      });
      yes.addEventListener('click', () => {
        yes.disabled = true;
        void deleteLecture(lecture)
          .then(() => poll(false))
          .catch((err: unknown) => {
            error.textContent = t.deleteFailed(err instanceof Error ? err.message : String(err));
            yes.disabled = false;
          });
      });
      zone.append(ask, confirmBox, error);
      li.append(zone);
    }
    return li;
  }

  /** Galène's delete, one file at a time (the MP4 takes its replay along); the composite goes last. */
  async function deleteLecture(lecture: Lecture): Promise<void> {
    const order = [...lecture.files].sort((a, b) => Number(a.role === 'composite') - Number(b.role === 'composite'));
    for (const f of order) {
      const res = await fetch('./', {
        method: 'POST',
        headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ q: 'delete', filename: f.name }).toString(),
      });
      if (!res.ok && res.status !== 404) throw new Error(`${res.status} ${(await res.text()).trim()}`);
    }
  }

  function render(listing: Listing): void {
    const newTitle = listing.displayName || listing.group;
    if ((listing.mayDelete === true) !== mayDelete || newTitle !== title) {
      // rebuild every card, with or without its delete step
      for (const entry of cards.values()) entry.li.remove();
      cards.clear();
    }
    mayDelete = listing.mayDelete === true;
    if (newTitle !== title) {
      title = newTitle;
      document.title = t.recordingsTitle(title);
      heading.textContent = t.recordingsTitle(title);
    }
    const lectures = listing.lectures ?? [];
    status.textContent = lectures.length === 0 ? t.noRecordings : '';
    const seen = new Set<string>();
    let previous: Element | null = null;
    for (const lecture of lectures) {
      seen.add(lecture.id);
      const key = JSON.stringify(lecture);
      let entry = cards.get(lecture.id);
      // Only a card whose data changed is rebuilt, so focus and the page stay put between polls.
      if (!entry || entry.key !== key) {
        const li = card(lecture);
        if (entry) entry.li.replaceWith(li);
        entry = { li, key };
        cards.set(lecture.id, entry);
      }
      const expected: Element | null = previous ? previous.nextElementSibling : list.firstElementChild;
      if (expected !== entry.li) {
        if (previous) previous.after(entry.li);
        else list.prepend(entry.li);
      }
      previous = entry.li;
    }
    for (const [id, entry] of cards) {
      if (seen.has(id)) continue;
      entry.li.remove();
      cards.delete(id);
    }
  }

  async function poll(again = true): Promise<void> {
    try {
      const res = await fetch(window.location.pathname, { headers: { Accept: 'application/json' }, cache: 'no-store' });
      if (res.status === 401 || res.status === 403) status.textContent = t.recordingsRefused((await res.text()).trim());
      else if (!res.ok) throw new Error(`${res.status} ${(await res.text()).trim()}`);
      else render((await res.json()) as Listing);
    } catch (err) {
      status.textContent = t.recordingsLoadFailed(err instanceof Error ? err.message : String(err));
      if (plain && cards.size === 0) plain.hidden = false;
    }
    if (again) setTimeout(() => void poll(), POLL_MS);
  }
  void poll();
  (window as unknown as { lecternRecordings: unknown }).lecternRecordings = { player };
}

main();
