import { randomBytes } from 'node:crypto';
import type { IceOptions } from '../../forward/types.js';
import type { Group } from '../../group/Group.js';
import type { GroupRegistry, JoiningClient } from '../../group/GroupRegistry.js';
import { UpConnection } from '../../ingest/UpConnection.js';
import type { Logger } from '../../log.js';
import type { Message } from '../messages.js';
import { HttpError, negotiationError } from './HttpError.js';
import type { HttpMediaResource } from './resource.js';
import { IceResource } from './IceResource.js';
import type { SdpFrag } from './sdpFrag.js';

/** As the WebSocket sessions do: tracks that start together are announced together. */
const TRACK_SETTLE_MS = 200;

export interface WhipDeps {
  registry: GroupRegistry;
  ice: IceOptions;
  log: Logger;
}

/**
 * A WHIP publisher (RFC 9725): a group member with no WebSocket, username `whip` (or the token's), that owns
 * one up stream labelled "" (as Galène labels WHIP streams). Other members see it in their user lists and are
 * offered its stream like any publisher's; DELETE, a kick or losing `present` ends the stream and it leaves.
 */
export class WhipPublisher implements JoiningClient, HttpMediaResource {
  readonly kind = 'whip';
  readonly id = randomBytes(16).toString('hex');
  username = '';
  permissions: string[] = [];
  readonly data: Record<string, unknown> = {};
  private up: UpConnection | undefined;
  private joined: Group | undefined;
  private settle: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly ice: IceResource;
  private log: Logger;
  /** Called once when the publisher is gone (the router forgets the resource). */
  onClose: (() => void) | undefined;

  constructor(
    readonly group: string,
    readonly token: string | undefined,
    readonly address: string | undefined,
    private readonly deps: WhipDeps,
  ) {
    this.log = deps.log.child({ whip: this.id, group });
    this.ice = new IceResource('WHIP', this.log);
  }

  init(username: string, permissions: string[]): void {
    this.username = username;
    this.permissions = permissions;
  }

  /** Joins the group (authorising the token or the group's credentials), checks `present`, answers the offer. */
  async start(offerSdp: string): Promise<string> {
    const group = await this.deps.registry.join(this.group, this, { username: 'whip', token: this.token });
    this.joined = group;
    if (!this.permissions.includes('present')) {
      this.close('not allowed to present');
      throw new HttpError(403, 'not-authorised', 'not allowed to publish in this group (need the present permission)');
    }
    try {
      const { conn, answerSdp } = await UpConnection.accept(
        {
          id: randomBytes(16).toString('hex'),
          label: '',
          clientId: this.id,
          username: this.username,
          codecs: group.description.codecs,
          ice: this.deps.ice,
          log: this.log,
        },
        offerSdp,
      );
      if (this.closed) {
        conn.close('publisher left');
        throw new HttpError(409, 'closed', 'the publisher left during negotiation');
      }
      this.up = conn;
      this.ice.accepted(offerSdp);
      conn.on('track', () => {
        clearTimeout(this.settle);
        this.settle = setTimeout(() => {
          if (!this.closed && this.up === conn) group.addStream(conn);
        }, TRACK_SETTLE_MS);
      });
      conn.on('failed', () => this.log.info('ICE failed; waiting for the client to restart ICE'));
      conn.on('close', (reason) => this.close(reason));
      this.log.info({ user: this.username }, 'WHIP publisher joined');
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
    return this.ice.patch(this.closed ? undefined : this.up, frag);
  }

  send(_m: Message): void {
    // no signalling channel: user lists and chat are not delivered to a WHIP client
  }

  pushStream(): void {
    // a WHIP client only publishes
  }

  setPermissions(permissions: string[]): void {
    this.permissions = permissions;
    this.joined?.userChanged(this);
    if (!permissions.includes('present')) this.close('present permission withdrawn');
  }

  joinedChanged(): void {}

  kick(): void {
    this.close('kicked');
  }

  /** Ends the stream (viewers get `close`) and leaves the group. Idempotent. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.settle);
    const up = this.up;
    const group = this.joined;
    if (up) {
      group?.removeStream(up.id);
      up.close(reason);
    }
    if (group) this.deps.registry.leave(this, group);
    this.log.info({ reason }, 'WHIP publisher left');
    this.onClose?.();
  }
}
