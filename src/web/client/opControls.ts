/**
 * What an op can do from the participants list: mute a presenter's microphone or kick someone (per user), lock
 * or unlock the group, and start or stop recording (with the `record` permission). While the server records,
 * a pseudo-user "RECORDING" with the `system` permission is in the group (Galène's convention): it is shown as
 * a "Recording" indicator, never as a participant. Other system members (the live-HLS subscriber "hls") are
 * not listed either, and say nothing about recording.
 */
import { h } from './dom.js';
import type { ServerConnection, User } from './protocol.js';
import type { Strings } from './strings.js';

/** A server-side member (the recorder, the live-HLS subscriber): not a person. */
export function isSystemUser(u: User): boolean {
  return u.permissions.includes('system');
}

/** The server's recorder, by the name Galène gives it. */
export function isRecorder(u: User): boolean {
  return isSystemUser(u) && u.username === 'RECORDING';
}

export class OpControls {
  /** The op's group controls (hidden for others). */
  readonly el: HTMLElement;
  /** "Recording", for everyone, while a recorder is in the group (announced). */
  readonly indicator: HTMLElement;
  private readonly reason: HTMLInputElement;
  private readonly lock: HTMLButtonElement;
  /** Record / Stop recording: placed by the page where it stays in view (the header). */
  readonly record: HTMLButtonElement;
  private recording = false;
  private locked: boolean | undefined;

  constructor(
    private readonly t: Strings,
    private readonly conn: ServerConnection,
    private readonly say: (text: string) => void,
  ) {
    this.reason = h('input', { id: 'op-message', type: 'text', autocomplete: 'off' });
    this.lock = h('button', { type: 'button' }, t.lockGroup);
    this.record = h('button', { type: 'button', hidden: true }, t.record);
    this.el = h(
      'div',
      { class: 'op-controls', role: 'group', 'aria-label': t.groupControls, hidden: true },
      h('div', { class: 'field' }, h('label', { for: 'op-message' }, t.opMessage), this.reason),
      this.lock,
    );
    this.indicator = h('p', { class: 'recording-indicator', 'aria-live': 'polite' });
    this.lock.addEventListener('click', () => {
      if (this.conn.status.locked === true) this.conn.groupAction('unlock');
      else this.conn.groupAction('lock', this.takeReason());
    });
    this.record.addEventListener('click', () => this.conn.groupAction(this.recording ? 'unrecord' : 'record'));
  }

  /** The optional message for a kick or a lock, which is used once. */
  private takeReason(): string {
    const text = this.reason.value.trim();
    this.reason.value = '';
    return text;
  }

  /** After a join or a `joined` change: who sees what, and the lock state (announced when it changes). */
  joined(): void {
    const perms = this.conn.permissions;
    this.el.hidden = !perms.includes('op');
    this.lock.hidden = !perms.includes('op');
    this.reason.parentElement!.hidden = !perms.includes('op');
    this.record.hidden = !perms.includes('record');
    const locked = this.conn.status.locked === true;
    this.lock.textContent = locked ? this.t.unlockGroup : this.t.lockGroup;
    if (this.locked !== undefined && this.locked !== locked) this.say(locked ? this.t.groupLocked : this.t.groupUnlocked);
    this.locked = locked;
  }

  /** After the user list changed: is a recorder present? */
  users(): void {
    const recording = [...this.conn.users.values()].some(isRecorder);
    this.recording = recording;
    this.indicator.textContent = recording ? this.t.recording : '';
    this.record.textContent = recording ? this.t.stopRecording : this.t.record;
  }

  /** Forgets the lock state (we left). */
  reset(): void {
    this.locked = undefined;
    this.recording = false;
    this.indicator.textContent = '';
    this.record.hidden = true;
  }

  /** The op's buttons for one other user of the list: Mute (presenters) and Kick. */
  userButtons(u: User): HTMLElement[] {
    if (!this.conn.permissions.includes('op') || u.id === this.conn.id || isSystemUser(u)) return [];
    const name = u.username || '?';
    const out: HTMLElement[] = [];
    if (u.permissions.includes('present')) {
      const mute = h('button', { type: 'button', class: 'small', 'aria-label': this.t.muteUser(name) }, this.t.mute);
      mute.addEventListener('click', () => this.conn.userMessage('mute', u.id));
      out.push(mute);
    }
    const kick = h('button', { type: 'button', class: 'small', 'aria-label': this.t.kickUser(name) }, this.t.kick);
    kick.addEventListener('click', () => this.conn.userAction('kick', u.id, this.takeReason()));
    out.push(kick);
    return out;
  }
}
