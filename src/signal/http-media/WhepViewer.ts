import { randomBytes } from 'node:crypto';
import { knownCodecs, type CodecName } from '../../forward/codecs.js';
import type { IceOptions } from '../../forward/types.js';
import type { Group } from '../../group/Group.js';
import type { GroupRegistry, JoiningClient } from '../../group/GroupRegistry.js';
import type { UpConnection } from '../../ingest/UpConnection.js';
import type { Logger } from '../../log.js';
import type { Message } from '../messages.js';
import { HttpError, negotiationError } from './HttpError.js';
import { chooseLecture, type Lecture } from './lecture.js';
import type { HttpMediaResource } from './resource.js';
import { IceResource } from './IceResource.js';
import type { SdpFrag } from './sdpFrag.js';
import { WhepConnection } from './WhepConnection.js';

export interface WhepDeps {
  registry: GroupRegistry;
  ice: IceOptions;
  log: Logger;
}

/**
 * A WHEP viewer (draft-ietf-wish-whep): a group member with no WebSocket (username `whep` or the token's),
 * admitted by the same rules as any viewer (lock, max-clients, expiry...), so it shows in user lists. It
 * receives the group's current lecture (lecture.ts) and follows it: when a stream is published or closed the
 * choice is made again and the down tracks switch source without renegotiation. Before anything is published
 * it is connected and silent, and media starts when the lecture does.
 */
export class WhepViewer implements JoiningClient, HttpMediaResource {
  readonly kind = 'whep';
  readonly id = randomBytes(16).toString('hex');
  username = '';
  permissions: string[] = [];
  readonly data: Record<string, unknown> = {};
  private conn: WhepConnection | undefined;
  private joined: Group | undefined;
  private readonly watching = new Set<UpConnection>();
  private closed = false;
  private readonly ice: IceResource;
  private readonly log: Logger;
  onClose: (() => void) | undefined;
  private readonly refollow = (): void => this.follow();

  constructor(
    readonly group: string,
    readonly token: string | undefined,
    readonly address: string | undefined,
    private readonly deps: WhepDeps,
  ) {
    this.log = deps.log.child({ whep: this.id, group });
    this.ice = new IceResource('WHEP', this.log);
  }

  init(username: string, permissions: string[]): void {
    this.username = username;
    this.permissions = permissions;
  }

  async start(offerSdp: string): Promise<string> {
    const group = await this.deps.registry.join(this.group, this, { username: 'whep', token: this.token });
    this.joined = group;
    const lecture = this.currentLecture(group);
    const groupCodecs = knownCodecs(group.description.codecs);
    const lead = [lecture.video?.codec.name, lecture.audio?.codec.name].filter((c): c is CodecName => c !== undefined);
    const codecs = [...new Set([...lead, ...groupCodecs])];
    try {
      const { conn, answerSdp } = await WhepConnection.accept({ id: this.id, codecs, ice: this.deps.ice, log: this.log }, offerSdp);
      if (this.closed) {
        conn.close('viewer left');
        throw new HttpError(409, 'closed', 'the viewer was removed during negotiation');
      }
      this.conn = conn;
      this.ice.accepted(offerSdp);
      conn.on('close', (reason) => this.close(reason));
      conn.on('failed', () => this.log.info('ICE failed; waiting for the client to restart ICE'));
      this.follow();
      this.log.info({ user: this.username }, 'WHEP viewer joined');
      return answerSdp;
    } catch (err) {
      this.close('negotiation failed');
      throw negotiationError(err);
    }
  }

  get etag(): string {
    return this.ice.etag;
  }

  patch(frag: SdpFrag): Promise<string | undefined> {
    return this.ice.patch(this.closed ? undefined : this.conn, frag);
  }

  send(_m: Message): void {
    // no signalling channel
  }

  /** A stream was published: the lecture may have changed. */
  pushStream(): void {
    this.follow();
  }

  setPermissions(permissions: string[]): void {
    this.permissions = permissions;
    this.joined?.userChanged(this);
  }

  joinedChanged(): void {}

  kick(): void {
    this.close('kicked');
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const up of this.watching) up.off('close', this.refollow);
    this.watching.clear();
    this.conn?.close(reason);
    if (this.joined) this.deps.registry.leave(this, this.joined);
    this.log.info({ reason }, 'WHEP viewer left');
    this.onClose?.();
  }

  private currentLecture(group: Group): Lecture {
    return chooseLecture([...group.streams.values()].filter((s) => !s.closed));
  }

  /** Chooses the lecture again and watches the streams it comes from (their close triggers a new choice). */
  private follow(): void {
    const group = this.joined;
    if (this.closed || !group || !this.conn) return;
    const lecture = this.currentLecture(group);
    this.conn.setLecture(lecture);
    const sources = new Set<UpConnection>();
    for (const up of group.streams.values()) {
      if (up.tracks().some((t) => t === lecture.audio || t === lecture.video || t === lecture.inset)) sources.add(up);
    }
    for (const up of this.watching) if (!sources.has(up)) up.off('close', this.refollow);
    for (const up of sources) if (!this.watching.has(up)) up.on('close', this.refollow);
    this.watching.clear();
    for (const up of sources) this.watching.add(up);
  }
}
