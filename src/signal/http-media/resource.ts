import type { SdpFrag } from './sdpFrag.js';

/** A WHIP or WHEP session as its HTTP resource sees it (`/group/<g>/.whip/<id>`). */
export interface HttpMediaResource {
  readonly kind: 'whip' | 'whep';
  readonly group: string;
  /** The current entity tag, quoted; it changes on an ICE restart. */
  readonly etag: string;
  /** The bearer token the session was created with: later requests must present it too. */
  readonly token: string | undefined;
  /** Trickle candidates (undefined reply) or an ICE restart (the new answer SDP, turned into a fragment). */
  patch(frag: SdpFrag): Promise<string | undefined>;
  close(reason: string): void;
}
