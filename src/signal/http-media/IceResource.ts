import { randomBytes } from 'node:crypto';
import type { IceCandidateInit } from '../../forward/peerConfig.js';
import type { Logger } from '../../log.js';
import { errorMessage } from '../../errors.js';
import { HttpError } from './HttpError.js';
import { iceCredentials, restartOffer, type SdpFrag } from './sdpFrag.js';

/** What a WHIP or WHEP session's peer connection offers to PATCH. */
export interface Negotiable {
  addIceCandidate(c: IceCandidateInit): Promise<void>;
  renegotiate(offerSdp: string): Promise<string>;
}

/**
 * The ICE side of a WHIP/WHEP resource: the client's last offer and ICE credentials, and the entity tag that
 * changes on each ICE restart. A PATCH either trickles candidates or, with new credentials, restarts ICE.
 */
export class IceResource {
  etag = newEtag();
  private offer = '';
  private ufrag: string | undefined;
  private pwd: string | undefined;

  constructor(
    private readonly what: string,
    private readonly log: Logger,
  ) {}

  /** The client's first offer was answered. */
  accepted(offerSdp: string): void {
    this.offer = offerSdp;
    ({ ufrag: this.ufrag, pwd: this.pwd } = iceCredentials(offerSdp));
  }

  /** Trickle candidates (resolves undefined) or an ICE restart (resolves to the new answer SDP). */
  async patch(conn: Negotiable | undefined, frag: SdpFrag): Promise<string | undefined> {
    if (!conn) throw new HttpError(404, 'closed', `this ${this.what} session has ended`);
    const restart = frag.ufrag !== undefined && (frag.ufrag !== this.ufrag || frag.pwd !== this.pwd);
    if (!restart) {
      for (const c of frag.candidates) {
        await conn.addIceCandidate(c).catch((err: unknown) => this.log.debug({ err: errorMessage(err) }, 'bad candidate'));
      }
      return undefined;
    }
    const offer = restartOffer(this.offer, frag);
    let answer: string;
    try {
      answer = await conn.renegotiate(offer);
    } catch (err) {
      throw new HttpError(400, 'bad-sdpfrag', `cannot restart ICE: ${errorMessage(err)}`);
    }
    this.offer = offer;
    this.ufrag = frag.ufrag;
    this.pwd = frag.pwd;
    this.etag = newEtag();
    return answer;
  }
}

export function newEtag(): string {
  return `"${randomBytes(12).toString('base64url')}"`;
}
