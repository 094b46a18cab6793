/**
 * Lectern's browser client, lecture view: the login form, the connection status, the stage, the presenter's
 * controls, the participants and the chat. Served at /group/<g>/ and bundled by build.ts.
 */
import { askAuthServer } from './auth.js';
import { BreakoutPanel, forgetCredentials, rememberCredentials, rememberedCredentials } from './breakout.js';
import { h } from './dom.js';
import { DeviceControls } from './devices.js';
import { LocalMedia } from './localMedia.js';
import { MeetingGrid } from './meeting.js';
import { isSystemUser, OpControls } from './opControls.js';
import { ServerConnection, type ChatEntry, type ConnState, type Credentials } from './protocol.js';
import { RecordingsLink } from './recordingsLink.js';
import { HlsFallback } from './hlsFallback.js';
import { Stage, type StageItem } from './stage.js';
import { chooseLanguage, pickStrings } from './strings.js';
import { ViewerControls } from './viewerControls.js';

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

/** What the page needs from the group's `.status`: where the WebSocket is, and how to log in. */
interface PageStatus {
  endpoint: string;
  location: string;
  authServer?: string;
  authPortal?: string;
  /** The group has a live HLS stream (Lectern's `.status` extension): the fallback may be offered. */
  hls: boolean;
}

async function loadStatus(): Promise<PageStatus> {
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const out: PageStatus = {
    endpoint: `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}/ws`,
    location: `${window.location.origin}${window.location.pathname}`,
    hls: false,
  };
  try {
    const res = await fetch('.status', { cache: 'no-cache' });
    if (!res.ok) return out;
    const status = (await res.json()) as Record<string, unknown>;
    const title = str(status.displayName);
    if (title) document.title = title;
    return {
      endpoint: str(status.endpoint) ?? out.endpoint,
      location: str(status.location) ?? out.location,
      authServer: str(status.authServer),
      authPortal: str(status.authPortal),
      hls: status.hls === true,
    };
  } catch {
    return out;
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
  const groupStatus = await loadStatus();
  const endpoint = groupStatus.endpoint;

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
  const devices = new DeviceControls(t, {
    device: (kind, id) => void chooseDevice(kind, id),
    quality: (bps) => {
      conn.setMaxVideoBitrate(bps).catch((err: unknown) => (notice.textContent = t.deviceError(t.sendQuality, String(err))));
    },
  });
  // What the lecturer must not miss, in the bar that is always in view: raised hands and unread chat.
  const handsBadge = h('button', { type: 'button', class: 'badge hands', hidden: true });
  const chatBadge = h('button', { type: 'button', class: 'badge unread', hidden: true });
  const alerts = h('div', { class: 'alerts' }, handsBadge, chatBadge);
  const controls = h(
    'div',
    { class: 'controls', role: 'group', 'aria-label': t.presenter },
    cameraButton,
    micButton,
    screenButton,
    watching,
    alerts,
    devices.el,
  );
  // Announces a raised hand or a new message to a screen reader (visually hidden; not role=status, which is the connection's).
  const announcer = h('p', { class: 'visually-hidden announcer', 'aria-live': 'polite' });

  // ---- participants ----
  const handButton = h('button', { type: 'button', 'aria-pressed': 'false' }, t.raiseHand);
  const userList = h('ul', { class: 'users' });
  const people = h('section', { class: 'people', 'aria-labelledby': 'people-h' }, h('h2', { id: 'people-h' }, t.participants), userList);

  // ---- chat ----
  const chatLog = h('div', { class: 'chat-log', role: 'log', 'aria-live': 'polite', 'aria-label': t.chatLog, tabindex: '0' });
  const [msgField, msgInput] = field('chat-input', t.message, { type: 'text', autocomplete: 'off' });
  const sendButton = h('button', { type: 'submit' }, t.send);
  const chatForm = h('form', { class: 'chat-form' }, msgField, sendButton);
  // Without the `message` permission the box is disabled and says why (the server would drop the message).
  const chatReason = h('p', { id: 'chat-reason', class: 'chat-reason', hidden: true }, t.chatNotAllowed);
  const chat = h('section', { class: 'chat', 'aria-labelledby': 'chat-h' }, h('h2', { id: 'chat-h' }, t.chatHeading), chatLog, chatForm, chatReason);

  const grid = new MeetingGrid(t);
  const aside = h('div', { class: 'side-panel' }, people, chat);
  const lecture = h('main', { class: 'lecture', hidden: true }, controls, stage.el, grid.el, grid.announcer, announcer, aside);
  root.classList.add('lecture-page');
  root.replaceChildren(header, notice, loginForm, lecture);

  const media = new LocalMedia();
  const conn = new ServerConnection(endpoint, group, {
    state: (s) => showState(s),
    joined: () => {
      recordingsLink.update();
      breakouts.update();
      ops.joined();
      const presenting = conn.permissions.includes('present');
      controls.hidden = !presenting;
      lecture.classList.toggle('presenting', presenting);
      // A presenter has no hand to raise and nothing to watch over HLS.
      handButton.hidden = presenting;
      hlsFallback.button.hidden = presenting;
      const mayChat = conn.permissions.includes('message');
      msgInput.disabled = sendButton.disabled = !mayChat;
      chatReason.hidden = mayChat;
      if (mayChat) msgInput.removeAttribute('aria-describedby');
      else msgInput.setAttribute('aria-describedby', chatReason.id);
      if (!controls.hidden) void devices.refresh();
      renderStage();
      renderUsers();
      scheduleViewChoice();
      if (groupStatus.hls) hlsFallback.start();
    },
    users: () => {
      ops.users();
      renderUsers();
      scheduleViewChoice();
    },
    muted: (by) => {
      notice.textContent = t.mutedBy(by);
      if (media.microphone) void toggleDevice(micButton, 'microphone', t.microphone);
    },
    chat: (e) => {
      if (!breakouts.takeChat(e)) addChat(e);
    },
    notice: (kind, text) => {
      notice.textContent = kind === 'error' ? t.serverError(text) : kind === 'warning' ? t.serverWarning(text) : text;
    },
    streams: () => {
      renderStage();
      if (!meeting && groupStatus.hls) hlsFallback.check();
    },
  });
  const breakouts = new BreakoutPanel(t, group, conn);
  aside.append(breakouts.el);
  const ops = new OpControls(t, conn, (text) => (notice.textContent = text));
  people.append(ops.el);
  header.insertBefore(ops.indicator, leave);
  header.insertBefore(ops.record, leave);
  const recordingsLink = new RecordingsLink(t, group, conn);
  header.insertBefore(recordingsLink.el, leave);
  const viewer = new ViewerControls(t, conn, stage.el, (text) => (notice.textContent = text));
  // In the stage's bar, so that its buttons stay reachable when the stage is full screen.
  stage.bar.append(handButton, viewer.el);
  let lastCreds: Credentials | undefined;
  // WebRTC -> HLS fallback (automatic after 5 s without media, or by hand); its controls sit with the viewer's.
  const hlsFallback = new HlsFallback(t, group, conn, stage, () => lastCreds, (text) => (notice.textContent = text));
  if (groupStatus.hls) viewer.el.append(hlsFallback.button);
  stage.bar.append(hlsFallback.indicator);
  // A handle for tests and for debugging from the console.
  (window as unknown as { lectern: unknown }).lectern = { conn, media, grid, hls: hlsFallback, isMeeting: () => meeting };

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
      const others = [...conn.users.values()].filter((u) => u.id !== conn.id && !isSystemUser(u));
      const presenting = others.filter((u) => u.permissions.includes('present')).length;
      if (viewParam === 'meeting' || (others.length > 0 && presenting * 2 > others.length)) void enterMeeting();
    }, 300);
  }

  async function enterMeeting(): Promise<void> {
    meeting = true;
    hlsFallback.stop();
    lecture.classList.add('meeting');
    stage.clear();
    stage.el.hidden = true;
    viewer.show(false);
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
    viewer.show(true);
  }

  let preview: MediaStream | undefined;
  function localPreview(): MediaStream | undefined {
    if (!media.camera) return (preview = undefined);
    if (preview?.getVideoTracks()[0] !== media.camera) preview = new MediaStream([media.camera]);
    return preview;
  }

  let connState: ConnState['kind'] = 'disconnected';
  /** A presenter's stream reached us since we joined: when the last one closes, the lecture has ended. */
  let sawLecture = false;
  let unread = 0;
  const raisedHands = new Set<string>();

  function showState(s: ConnState): void {
    connState = s.kind;
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
        if (s.shutdown) notice.textContent = t.serverShuttingDown;
        renderStage();
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
        hlsFallback.stop();
        setPressed(cameraButton, false);
        setPressed(micButton, false);
        setPressed(screenButton, false);
        chatLog.replaceChildren();
        ops.reset();
        sawLecture = false;
        stage.reset();
        raisedHands.clear();
        setUnread(0);
        showHands();
        if (s.kind === 'failed') {
          loginError.textContent = s.error?.startsWith('kicked:')
            ? t.kicked(s.error.slice('kicked:'.length), s.reason)
            : s.error === 'need-username'
              ? t.needUsername
              : t.joinFailed(s.reason);
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
    const remote = [...conn.down.values()].filter((s) => !s.closed);
    if (remote.length > 0) sawLecture = true;
    // While the socket is back soon, the last known state (sawLecture) is kept for after the rejoin.
    if (connState === 'reconnecting') stage.setState('reconnecting');
    else stage.setState(sawLecture && remote.length === 0 && local.length === 0 && connState === 'connected' ? 'ended' : 'waiting');
    stage.render(local, remote);
  }

  /** The lecturer's badge of raised hands (and who raised one just now, announced). */
  function showHands(): void {
    handsBadge.hidden = raisedHands.size === 0;
    handsBadge.textContent = t.handsRaised(raisedHands.size);
  }

  function setUnread(n: number): void {
    unread = n;
    chatBadge.hidden = n === 0;
    chatBadge.textContent = t.unreadMessages(n);
  }

  function renderUsers(): void {
    const humans = [...conn.users.values()].filter((u) => !isSystemUser(u));
    const raised = new Set(humans.filter((u) => u.id !== conn.id && u.data.raisehand).map((u) => u.id));
    for (const id of raised) if (!raisedHands.has(id) && conn.permissions.includes('present')) announcer.textContent = t.handRaisedBy(conn.users.get(id)?.username || '?');
    raisedHands.clear();
    for (const id of raised) raisedHands.add(id);
    showHands();
    watching.textContent = t.watching(humans.filter((u) => u.id !== conn.id).length);
    const items = humans
      .sort((a, b) => a.username.localeCompare(b.username))
      .map((u) => {
        const li = h('li', {}, u.username || '?');
        if (u.id === conn.id) li.append(` ${t.you}`);
        if (u.permissions.includes('present')) li.append(h('span', { class: 'tag' }, ` ${t.presenter}`));
        if (u.data.raisehand) li.append(h('span', { class: 'hand' }, ` (${t.handRaised})`));
        const buttons = ops.userButtons(u);
        if (buttons.length) li.append(' ', h('span', { class: 'user-actions' }, ...buttons));
        return li;
      });
    userList.replaceChildren(...items);
    const mine = !!conn.users.get(conn.id)?.data.raisehand;
    setPressed(handButton, mine);
    handButton.textContent = mine ? t.lowerHand : t.raiseHand;
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
    if (!e.history && e.source !== conn.id && !chat.contains(document.activeElement)) {
      setUnread(unread + 1);
      // (Viewers hear the log itself; the lecturer, busy presenting, is told who wrote.)
      if (conn.permissions.includes('present')) announcer.textContent = t.newMessageFrom(e.username || '?');
    }
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
    void login(userInput.value, passInput.value);
  });

  /** A password login; a group with an authServer asks it first for a token (galene-protocol.md §1). */
  async function login(username: string, password: string): Promise<void> {
    if (!groupStatus.authServer || token !== undefined) return join({ username, password, token });
    loginError.textContent = '';
    joinButton.disabled = true;
    const answer = await askAuthServer(groupStatus.authServer, groupStatus.location, username, password);
    joinButton.disabled = false;
    switch (answer.kind) {
      case 'token':
        return join({ username, token: answer.token });
      case 'password':
        return join({ username, password });
      case 'refused':
        loginError.textContent = t.authRefused;
        return;
      case 'error':
        loginError.textContent = t.authServerError(answer.why);
        return;
    }
  }
  leave.addEventListener('click', () => {
    token = undefined;
    forgetCredentials();
    conn.close();
  });

  async function toggleDevice(button: HTMLButtonElement, kind: 'camera' | 'microphone', name: string): Promise<void> {
    button.disabled = true;
    try {
      setPressed(button, await media.toggle(kind));
      conn.publish('camera', media.cameraStream());
      void devices.refresh();
    } catch (err) {
      notice.textContent = t.deviceError(name, err instanceof Error ? err.message : String(err));
    } finally {
      button.disabled = false;
      renderStage();
    }
  }
  const deviceToggle = (button: HTMLButtonElement, kind: 'camera' | 'microphone', name: string) => {
    button.addEventListener('click', async () => {
      await toggleDevice(button, kind, name);
      button.focus();
    });
  };

  /** Another camera or microphone: if it is on, its new track replaces the old in what we publish. */
  async function chooseDevice(kind: 'camera' | 'microphone', id: string): Promise<void> {
    try {
      if (await media.choose(kind, id)) conn.publish('camera', media.cameraStream());
    } catch (err) {
      notice.textContent = t.deviceError(kind === 'camera' ? t.camera : t.microphone, err instanceof Error ? err.message : String(err));
    }
    renderStage();
  }
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

  // Reading the chat (focus or a click in it) clears the unread count; the badges take the lecturer there.
  chat.addEventListener('focusin', () => setUnread(0));
  chat.addEventListener('pointerdown', () => setUnread(0));
  chatBadge.addEventListener('click', () => {
    chat.scrollIntoView({ block: 'nearest' });
    (msgInput.disabled ? chatLog : msgInput).focus();
  });
  handsBadge.addEventListener('click', () => {
    people.scrollIntoView({ block: 'nearest' });
    userList.querySelector('.hand')?.closest('li')?.scrollIntoView({ block: 'nearest' });
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
  if (groupStatus.authPortal && token === undefined && !remembered) {
    // The portal signs the user in and sends them back here with ?token=.
    notice.textContent = t.authPortalRedirect;
    window.location.href = groupStatus.authPortal;
    return;
  }
  if (token !== undefined) join({ token });
  else if (remembered) {
    forgetCredentials();
    join(remembered);
  } else userInput.focus();
}

void main();
