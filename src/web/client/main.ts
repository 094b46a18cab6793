/**
 * Lectern's browser client, lecture view: the login form, the connection status, the stage, the presenter's
 * controls, the participants and the chat. Served at /group/<g>/ and bundled by build.ts.
 */
import { BreakoutPanel, forgetCredentials, rememberCredentials, rememberedCredentials } from './breakout.js';
import { h } from './dom.js';
import { LocalMedia } from './localMedia.js';
import { MeetingGrid } from './meeting.js';
import { ServerConnection, type ChatEntry, type ConnState, type Credentials } from './protocol.js';
import { Stage, type StageItem } from './stage.js';
import { chooseLanguage, pickStrings } from './strings.js';

const lang = chooseLanguage(new URL(window.location.href).searchParams.get('lang'), navigator.languages ?? [navigator.language]);
document.documentElement.lang = lang;
const t = pickStrings(lang);

function groupFromPath(pathname: string): string {
  const rest = pathname.replace(/^\/group\//, '').replace(/\/$/, '');
  return rest.split('/').map(decodeURIComponent).join('/');
}

/** Reads `?token=` and strips it from the address bar (and history). */
function takeToken(): string | undefined {
  const url = new URL(window.location.href);
  const token = url.searchParams.get('token') ?? undefined;
  if (token !== undefined) {
    url.searchParams.delete('token');
    window.history.replaceState(null, '', url.toString());
  }
  return token;
}

async function endpointFor(): Promise<string> {
  const fallback = `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}/ws`;
  try {
    const res = await fetch('.status', { cache: 'no-cache' });
    if (!res.ok) return fallback;
    const status = (await res.json()) as { endpoint?: unknown; displayName?: unknown };
    if (typeof status.displayName === 'string' && status.displayName) document.title = status.displayName;
    return typeof status.endpoint === 'string' && status.endpoint ? status.endpoint : fallback;
  } catch {
    return fallback;
  }
}

function field(id: string, label: string, attrs: Record<string, string | boolean>): [HTMLElement, HTMLInputElement] {
  const input = h('input', { id, name: id, ...attrs });
  return [h('div', { class: 'field' }, h('label', { for: id }, label), input), input];
}

async function main(): Promise<void> {
  const group = groupFromPath(window.location.pathname);
  let token = takeToken();
  const root = document.getElementById('app') ?? document.body;
  const endpoint = await endpointFor();

  // ---- header and status ----
  const status = h('p', { id: 'status', role: 'status', 'aria-live': 'polite' }, t.statusDisconnected);
  const notice = h('p', { id: 'notice', 'aria-live': 'polite', class: 'notice' });
  const leave = h('button', { type: 'button', hidden: true }, t.leave);
  const header = h('header', {}, h('h1', {}, document.title === 'Lectern' ? group : document.title), status, leave);

  // ---- login ----
  const [userField, userInput] = field('username', t.username, { type: 'text', autocomplete: 'username', required: true });
  const [passField, passInput] = field('password', t.password, { type: 'password', autocomplete: 'current-password' });
  const joinButton = h('button', { type: 'submit' }, t.join);
  const loginError = h('p', { id: 'login-error', role: 'alert', 'aria-live': 'assertive' });
  const loginForm = h('form', { class: 'login' }, h('h2', {}, t.loginHeading), userField, passField, joinButton, loginError);

  // ---- stage and presenter controls ----
  const stage = new Stage(t);
  const toggle = (label: string) => h('button', { type: 'button', 'aria-pressed': 'false' }, label);
  const cameraButton = toggle(t.camera);
  const micButton = toggle(t.microphone);
  const screenButton = toggle(t.shareScreen);
  const watching = h('p', { class: 'watching', 'aria-live': 'polite' });
  const controls = h('div', { class: 'controls', role: 'group', 'aria-label': t.presenter }, cameraButton, micButton, screenButton, watching);

  // ---- participants ----
  const handButton = h('button', { type: 'button', 'aria-pressed': 'false' }, t.raiseHand);
  const userList = h('ul', { class: 'users' });
  const people = h('section', { class: 'people', 'aria-labelledby': 'people-h' }, h('h2', { id: 'people-h' }, t.participants), handButton, userList);

  // ---- chat ----
  const chatLog = h('div', { class: 'chat-log', role: 'log', 'aria-live': 'polite', 'aria-label': t.chatLog, tabindex: '0' });
  const [msgField, msgInput] = field('chat-input', t.message, { type: 'text', autocomplete: 'off' });
  const sendButton = h('button', { type: 'submit' }, t.send);
  const chatForm = h('form', { class: 'chat-form' }, msgField, sendButton);
  const chat = h('section', { class: 'chat', 'aria-labelledby': 'chat-h' }, h('h2', { id: 'chat-h' }, t.chatHeading), chatLog, chatForm);

  const grid = new MeetingGrid(t);
  const lecture = h('main', { class: 'lecture', hidden: true }, stage.el, grid.el, controls, people, chat);
  root.replaceChildren(header, notice, loginForm, lecture);

  const media = new LocalMedia();
  const conn = new ServerConnection(endpoint, group, {
    state: (s) => showState(s),
    joined: () => {
      breakouts.update();
      controls.hidden = !conn.permissions.includes('present');
      renderStage();
      renderUsers();
      scheduleViewChoice();
    },
    users: () => {
      renderUsers();
      scheduleViewChoice();
    },
    chat: (e) => {
      if (!breakouts.takeChat(e)) addChat(e);
    },
    notice: (kind, text) => {
      notice.textContent = kind === 'error' ? t.serverError(text) : kind === 'warning' ? t.serverWarning(text) : text;
    },
    streams: () => renderStage(),
  });
  const breakouts = new BreakoutPanel(t, group, conn);
  lecture.append(breakouts.el);
  let lastCreds: Credentials | undefined;
  // A handle for tests and for debugging from the console.
  (window as unknown as { lectern: unknown }).lectern = { conn, media, grid, isMeeting: () => meeting };

  // ---- lecture or meeting ----
  // A meeting when we may present and so may most of the others (or ?view=meeting); ?view=lecture forbids it.
  // The choice waits for the burst of user messages that follows a join, and sticks until we leave.
  const viewParam = new URL(window.location.href).searchParams.get('view');
  let meeting = false;
  let choiceTimer: ReturnType<typeof setTimeout> | undefined;
  function scheduleViewChoice(): void {
    if (meeting || !conn.permissions.includes('present') || viewParam === 'lecture') return;
    if (choiceTimer) clearTimeout(choiceTimer);
    choiceTimer = setTimeout(() => {
      choiceTimer = undefined;
      if (meeting || !conn.permissions.includes('present')) return;
      const others = [...conn.users.values()].filter((u) => u.id !== conn.id);
      const presenting = others.filter((u) => u.permissions.includes('present')).length;
      if (viewParam === 'meeting' || (others.length > 0 && presenting * 2 > others.length)) void enterMeeting();
    }, 300);
  }

  async function enterMeeting(): Promise<void> {
    meeting = true;
    lecture.classList.add('meeting');
    stage.clear();
    stage.el.hidden = true;
    grid.show(true);
    notice.textContent = t.meetingStarted;
    for (const [kind, button, name] of [
      ['camera', cameraButton, t.camera],
      ['microphone', micButton, t.microphone],
    ] as const) {
      if (media[kind]) continue;
      try {
        setPressed(button, await media.toggle(kind));
      } catch (err) {
        notice.textContent = t.deviceError(name, err instanceof Error ? err.message : String(err));
      }
    }
    if (conn.permissions.includes('present')) conn.publish('camera', media.cameraStream());
    renderStage();
  }

  function leaveMeeting(): void {
    meeting = false;
    if (choiceTimer) clearTimeout(choiceTimer);
    choiceTimer = undefined;
    lecture.classList.remove('meeting');
    grid.clear();
    stage.el.hidden = false;
  }

  let preview: MediaStream | undefined;
  function localPreview(): MediaStream | undefined {
    if (!media.camera) return (preview = undefined);
    if (preview?.getVideoTracks()[0] !== media.camera) preview = new MediaStream([media.camera]);
    return preview;
  }

  function showState(s: ConnState): void {
    switch (s.kind) {
      case 'connecting':
        status.textContent = t.statusConnecting;
        break;
      case 'connected':
        status.textContent = `${t.statusConnected}. ${t.joinedAs(conn.username)}`;
        loginForm.hidden = true;
        lecture.hidden = false;
        leave.hidden = false;
        loginError.textContent = '';
        if (lastCreds) rememberCredentials(group, lastCreds);
        break;
      case 'reconnecting':
        status.textContent = t.statusReconnecting;
        break;
      case 'disconnected':
      case 'failed': {
        status.textContent = s.kind === 'failed' ? t.statusFailed(s.reason) : t.statusDisconnected;
        loginForm.hidden = false;
        lecture.hidden = true;
        leave.hidden = true;
        joinButton.disabled = false;
        media.stopAll();
        leaveMeeting();
        setPressed(cameraButton, false);
        setPressed(micButton, false);
        setPressed(screenButton, false);
        chatLog.replaceChildren();
        if (s.kind === 'failed') {
          loginError.textContent = s.error?.startsWith('kicked:')
            ? t.kicked(s.error.slice('kicked:'.length), s.reason)
            : s.error === 'need-username'
              ? t.needUsername
              : s.reason;
        }
        break;
      }
    }
  }

  function renderStage(): void {
    if (meeting) {
      const up = [...conn.up.values()].find((s) => s.label === 'camera');
      grid.render(up, localPreview(), conn.username, [...conn.down.values()]);
      return;
    }
    const local: StageItem[] = [];
    const me = { username: conn.username, local: true };
    if (media.camera) local.push({ key: 'local-camera', stream: new MediaStream([media.camera]), label: 'camera', ...me });
    if (media.screen) local.push({ key: 'local-screen', stream: media.screen, label: 'screenshare', ...me });
    stage.render(local, [...conn.down.values()].filter((s) => !s.closed));
  }

  function renderUsers(): void {
    const others = [...conn.users.values()].filter((u) => u.id !== conn.id);
    watching.textContent = t.watching(others.length);
    const items = [...conn.users.values()]
      .sort((a, b) => a.username.localeCompare(b.username))
      .map((u) => {
        const li = h('li', {}, u.username || '?');
        if (u.id === conn.id) li.append(` ${t.you}`);
        if (u.permissions.includes('present')) li.append(h('span', { class: 'tag' }, ` ${t.presenter}`));
        if (u.data.raisehand) li.append(h('span', { class: 'hand' }, ` (${t.handRaised})`));
        return li;
      });
    userList.replaceChildren(...items);
    const mine = conn.users.get(conn.id);
    const raised = !!mine?.data.raisehand;
    setPressed(handButton, raised);
    handButton.textContent = raised ? t.lowerHand : t.raiseHand;
  }

  function addChat(e: ChatEntry): void {
    const time = e.time ? new Date(e.time) : new Date();
    const line = h(
      'p',
      { class: `chat-line${e.history ? ' history' : ''}` },
      h('time', { datetime: time.toISOString() }, time.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })),
      ' ',
      h('b', {}, e.username || '?'),
      e.kind === 'me' ? ' ' : ': ',
      ...linkify(e.value),
    );
    chatLog.append(line);
    chatLog.scrollTop = chatLog.scrollHeight;
  }

  /** Text with its http(s) URLs as links: this server's open in this tab (a small group), others in a new one. */
  function linkify(text: string): (string | Node)[] {
    const out: (string | Node)[] = [];
    let last = 0;
    for (const m of text.matchAll(/https?:\/\/[^\s<>"]+/g)) {
      const url = m[0];
      out.push(text.slice(last, m.index));
      const a = h('a', { href: url }, url);
      if (!url.startsWith(`${window.location.origin}/`)) {
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
      }
      out.push(a);
      last = m.index + url.length;
    }
    out.push(text.slice(last));
    return out;
  }

  function setPressed(b: HTMLButtonElement, on: boolean): void {
    b.setAttribute('aria-pressed', String(on));
  }

  // ---- actions ----
  const join = (creds: Credentials) => {
    loginError.textContent = '';
    lastCreds = creds;
    joinButton.disabled = true;
    conn.connect(creds);
  };

  loginForm.addEventListener('submit', (e) => {
    e.preventDefault();
    join({ username: userInput.value, password: passInput.value, token });
  });
  leave.addEventListener('click', () => {
    token = undefined;
    forgetCredentials();
    conn.close();
  });

  const deviceToggle = (button: HTMLButtonElement, kind: 'camera' | 'microphone', name: string) => {
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        setPressed(button, await media.toggle(kind));
        conn.publish('camera', media.cameraStream());
      } catch (err) {
        notice.textContent = t.deviceError(name, err instanceof Error ? err.message : String(err));
      } finally {
        button.disabled = false;
        button.focus();
        renderStage();
      }
    });
  };
  deviceToggle(cameraButton, 'camera', t.camera);
  deviceToggle(micButton, 'microphone', t.microphone);

  const stopScreen = () => {
    media.stopScreen();
    conn.publish('screenshare', null);
    setPressed(screenButton, false);
    renderStage();
  };
  screenButton.addEventListener('click', async () => {
    if (media.screen) return stopScreen();
    try {
      conn.publish('screenshare', await media.startScreen(stopScreen));
      setPressed(screenButton, true);
    } catch (err) {
      notice.textContent = t.deviceError(t.shareScreen, err instanceof Error ? err.message : String(err));
    }
    renderStage();
  });

  handButton.addEventListener('click', () => {
    const raised = !!conn.users.get(conn.id)?.data.raisehand;
    conn.setData({ raisehand: raised ? null : true });
  });

  chatForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = msgInput.value.trim();
    if (!text) return;
    conn.sendChat(text);
    msgInput.value = '';
  });

  // A token link joins at once; so does a move to or from a small group with the credentials this tab used.
  const remembered = token === undefined ? rememberedCredentials(group) : undefined;
  if (token !== undefined) join({ token });
  else if (remembered) {
    forgetCredentials();
    join(remembered);
  } else userInput.focus();
}

void main();
