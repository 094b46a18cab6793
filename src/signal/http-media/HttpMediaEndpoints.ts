import { randomBytes } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { isValidGroupName } from '../../config/groupFiles.js';
import type { IceServer } from '../../config/iceServers.js';
import { errorMessage } from '../../errors.js';
import type { IceOptions } from '../../forward/types.js';
import { JoinError, type GroupRegistry } from '../../group/GroupRegistry.js';
import type { Logger } from '../../log.js';
import { HttpError, joinErrorToHttp } from './HttpError.js';
import { allowCors, bearerToken, checkIfMatch, readBody, requireMediaType, sameToken } from './httpText.js';
import { iceServerLinks } from './iceLinks.js';
import type { HttpMediaResource } from './resource.js';
import { answerFrag, parseSdpFrag } from './sdpFrag.js';
import { WhepViewer } from './WhepViewer.js';
import { WhipPublisher } from './WhipPublisher.js';

export interface HttpMediaDeps {
  registry: GroupRegistry;
  ice: IceOptions;
  /** data/ice-servers.json, announced in Link headers. */
  iceServers(): readonly IceServer[];
  /** config.json allowOrigin (CORS). */
  allowOrigin(): readonly string[];
  log: Logger;
}

const SDP = 'application/sdp';
const FRAG = 'application/trickle-ice-sdpfrag';
const PATH = /^\/group\/(.+)\/\.(whip|whep)(?:\/([^/]*))?\/?$/;

/**
 * WHIP (`/group/<g>/.whip`, RFC 9725) and WHEP (`/group/<g>/.whep`, draft-ietf-wish-whep) endpoints and their
 * session resources (`…/<id>`): POST creates a session, PATCH trickles candidates or restarts ICE, DELETE
 * ends it. Every failure is a status with a one-line text body; nothing here throws into express.
 */
export class HttpMediaEndpoints {
  private readonly resources = new Map<string, HttpMediaResource>();
  private closed = false;

  constructor(private readonly deps: HttpMediaDeps) {}

  /** Express middleware: handles WHIP/WHEP paths, passes anything else on. */
  readonly handle = (req: Request, res: Response, next: NextFunction): void => {
    const path = req.originalUrl.split('?')[0] ?? '';
    const m = PATH.exec(path);
    if (!m) return next();
    const [, rawGroup = '', kindText, id] = m;
    const kind = kindText as 'whip' | 'whep';
    this.serve(req, res, rawGroup, kind, id, path).catch((err: unknown) => this.fail(res, err));
  };

  /** Ends every session (server shutdown). */
  close(): void {
    this.closed = true;
    for (const r of [...this.resources.values()]) r.close('server shutting down');
    this.resources.clear();
  }

  private async serve(req: Request, res: Response, rawGroup: string, kind: 'whip' | 'whep', id: string | undefined, path: string) {
    allowCors(req, res, this.deps.allowOrigin());
    const group = decodeGroup(rawGroup);
    if (group === undefined || !this.deps.registry.get(group)) throw new HttpError(404, 'group-not-found', 'group does not exist');
    if (id === undefined) return this.endpoint(req, res, group, kind, path);
    const r = this.resources.get(id);
    if (!r || r.group !== group || r.kind !== kind) throw new HttpError(404, 'no-such-session', `no such ${kind.toUpperCase()} session`);
    return this.resource(req, res, id, r);
  }

  private async endpoint(req: Request, res: Response, group: string, kind: 'whip' | 'whep', path: string) {
    if (req.method === 'OPTIONS') {
      res.setHeader('Allow', 'OPTIONS, POST');
      res.setHeader('Accept-Post', SDP);
      res.setHeader('Access-Control-Allow-Methods', 'OPTIONS, POST');
      res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type');
      res.setHeader('Access-Control-Expose-Headers', 'Link');
      this.iceLinks(res);
      return void res.status(204).end();
    }
    if (req.method !== 'POST') throw methodNotAllowed('OPTIONS, POST');
    if (this.closed) throw new HttpError(503, 'shutting-down', 'the server is shutting down');
    requireMediaType(req, SDP);
    const offer = await readBody(req);
    const token = bearerToken(req);
    const deps = { registry: this.deps.registry, ice: this.deps.ice, log: this.deps.log };
    const session =
      kind === 'whip'
        ? new WhipPublisher(group, token, req.socket.remoteAddress, deps)
        : new WhepViewer(group, token, req.socket.remoteAddress, deps);
    const rid = randomBytes(16).toString('base64url');
    session.onClose = () => {
      if (this.resources.get(rid) === session) this.resources.delete(rid);
    };
    let answer: string;
    try {
      answer = await session.start(offer);
    } catch (err) {
      if (err instanceof JoinError) throw joinErrorToHttp(err);
      throw err;
    }
    if (this.closed || req.socket.destroyed) {
      session.close(this.closed ? 'server shutting down' : 'client went away');
      return;
    }
    this.resources.set(rid, session);
    res.setHeader('Location', `${path.replace(/\/$/, '')}/${rid}`);
    res.setHeader('ETag', session.etag);
    res.setHeader('Access-Control-Expose-Headers', 'Location, Content-Type, Link, ETag');
    this.iceLinks(res);
    res.status(201).type(SDP).send(answer);
  }

  private async resource(req: Request, res: Response, id: string, r: HttpMediaResource) {
    if (req.method === 'OPTIONS') {
      res.setHeader('Allow', 'OPTIONS, PATCH, DELETE');
      res.setHeader('Accept-Patch', FRAG);
      res.setHeader('Access-Control-Allow-Methods', 'OPTIONS, PATCH, DELETE');
      res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, If-Match, If-None-Match');
      res.setHeader('Access-Control-Expose-Headers', 'ETag');
      return void res.status(204).end();
    }
    if (req.method !== 'PATCH' && req.method !== 'DELETE') throw methodNotAllowed('OPTIONS, PATCH, DELETE');
    if (r.token !== undefined) {
      const given = bearerToken(req);
      if (given === undefined || !sameToken(given, r.token)) {
        throw new HttpError(401, 'not-authorised', 'not authorised: this session needs the token it was created with', {
          'WWW-Authenticate': 'Bearer',
        });
      }
    }
    checkIfMatch(req, r.etag);
    if (req.method === 'DELETE') {
      this.resources.delete(id);
      r.close('ended by the client (DELETE)');
      return void res.status(200).type('text/plain').send('session ended\n');
    }
    requireMediaType(req, FRAG);
    const body = await readBody(req);
    let frag;
    try {
      frag = parseSdpFrag(body);
    } catch (err) {
      throw new HttpError(400, 'bad-sdpfrag', `bad SDP fragment: ${errorMessage(err)}`);
    }
    const answer = await r.patch(frag);
    if (answer === undefined) return void res.status(204).end();
    res.setHeader('ETag', r.etag);
    res.setHeader('Access-Control-Expose-Headers', 'ETag');
    res.status(200).type(FRAG).send(answerFrag(answer));
  }

  private iceLinks(res: Response): void {
    const links = iceServerLinks(this.deps.iceServers());
    if (links.length > 0) res.setHeader('Link', links);
  }

  private fail(res: Response, err: unknown): void {
    let e: HttpError;
    if (err instanceof HttpError) e = err;
    else if (err instanceof JoinError) e = joinErrorToHttp(err);
    else {
      this.deps.log.error({ err }, 'WHIP/WHEP request failed');
      e = new HttpError(500, 'internal', 'internal server error');
    }
    if (res.headersSent) return void res.end();
    for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
    res.status(e.status).type('text/plain').send(`${e.message}\n`);
  }
}

function methodNotAllowed(allow: string): HttpError {
  return new HttpError(405, 'method-not-allowed', 'method not allowed', { Allow: allow });
}

function decodeGroup(raw: string): string | undefined {
  if (/%2f|%5c|%00/i.test(raw)) return undefined;
  try {
    const name = decodeURIComponent(raw);
    return isValidGroupName(name) ? name : undefined;
  } catch {
    return undefined;
  }
}
