import type { Group } from '../group/Group.js';
import { mergeData } from '../group/Group.js';
import type { Message } from './messages.js';
import type { Session } from './Session.js';
import { UserError } from './UserError.js';
import { tokenAction } from '../group/tokens/tokenActions.js';

function requireOp(s: Session): void {
  if (!s.permissions.includes('op')) throw new UserError('not authorised');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What each op-only permission action does to the target's permissions. */
const PERMISSION_ACTIONS: Record<string, (perms: Set<string>, g: Group) => void> = {
  op: (p, g) => {
    p.add('op');
    if (g.description.allowRecording) p.add('record');
  },
  unop: (p) => {
    p.delete('op');
    p.delete('record');
  },
  present: (p) => void p.add('present'),
  unpresent: (p) => void p.delete('present'),
  shutup: (p) => void p.delete('message'),
  unshutup: (p) => void p.add('message'),
};

/** `useraction` (galene-protocol.md §2.5). */
export function handleUserAction(s: Session, g: Group, m: Message): void {
  const kind = m.kind ?? '';
  const change = PERMISSION_ACTIONS[kind];
  if (change) {
    requireOp(s);
    const target = g.clients.get(m.dest ?? '');
    if (!target) throw new UserError('no such user');
    const perms = new Set(target.permissions);
    change(perms, g);
    target.setPermissions([...perms]);
    return;
  }
  switch (kind) {
    case 'identify': {
      requireOp(s);
      const target = g.clients.get(m.dest ?? '');
      if (!target) throw new UserError('client not found');
      target.send({
        type: 'usermessage',
        kind: 'warning',
        dest: target.id,
        privileged: true,
        value: `Your IP address has been communicated to user ${s.username}.`,
      });
      s.send({
        type: 'usermessage',
        kind: 'userinfo',
        privileged: true,
        value: { id: target.id, username: target.username || undefined, address: target.address },
      });
      return;
    }
    case 'kick': {
      requireOp(s);
      const target = g.clients.get(m.dest ?? '');
      if (!target) throw new UserError('no such user');
      target.kick({ id: s.id, username: s.username }, typeof m.value === 'string' ? m.value : '');
      return;
    }
    case 'setdata': {
      if (m.dest !== s.id) throw new UserError('not authorised');
      if (!isObject(m.value)) throw new UserError('bad value in setdata');
      s.data = mergeData(s.data, m.value);
      g.userChanged(s);
      return;
    }
    default:
      throw new UserError('unknown user action');
  }
}

/** `groupaction` (galene-protocol.md §2.5). Recording and tokens arrive with their own issues. */
export function handleGroupAction(s: Session, g: Group, m: Message): void {
  switch (m.kind) {
    case 'clearchat': {
      requireOp(s);
      let id: string | undefined;
      let userId: string | undefined;
      if (m.value !== undefined) {
        if (!isObject(m.value)) throw new UserError('bad value in clearchat');
        id = typeof m.value.id === 'string' ? m.value.id : undefined;
        userId = typeof m.value.userId === 'string' ? m.value.userId : undefined;
        if (id && !userId) throw new UserError('bad value in clearchat');
      }
      g.chat.clear(id, userId);
      g.broadcast({ type: 'usermessage', kind: 'clearchat', value: m.value, privileged: true });
      return;
    }
    case 'lock':
    case 'unlock':
      requireOp(s);
      g.setLocked(m.kind === 'lock', typeof m.value === 'string' ? m.value : '');
      return;
    case 'subgroups': {
      requireOp(s);
      const lines = s.deps.registry
        .subgroups(g.name)
        .map((sg) => `${sg.name} (${sg.clients} client${sg.clients === 1 ? '' : 's'})\n`);
      s.send({ type: 'chat', dest: s.id, username: 'Server', time: new Date().toISOString(), value: lines.join('') });
      return;
    }
    case 'setdata':
      requireOp(s);
      if (!isObject(m.value)) throw new UserError('bad value in setdata');
      g.updateData(m.value);
      return;
    case 'record':
    case 'unrecord': {
      if (!s.permissions.includes('record')) throw new UserError('not authorised');
      const recorder = s.deps.recorder;
      if (!recorder) throw new UserError('recording is not available on this server');
      if (m.kind === 'record') {
        if (recorder.isRecording(g)) throw new UserError('already recording');
        recorder.start(g);
      } else {
        if (!recorder.isRecording(g)) throw new UserError('not recording');
        recorder.stop(g).catch((e: unknown) => s.deps.log.error({ err: e, group: g.name }, 'stopping the recording failed'));
      }
      return;
    }
    case 'maketoken':
    case 'edittoken':
    case 'listtokens': {
      const tokens = s.deps.registry.tokens;
      const caller = {
        username: s.username,
        permissions: s.permissions,
        group: g.name,
        userExists: (u: string) => Object.hasOwn(g.description.users, u),
      };
      const reply = tokens
        ? tokenAction(tokens, m.kind, caller, m.value)
        : { kind: m.kind === 'listtokens' ? 'tokenlist' : 'token', error: 'error', value: 'tokens are not enabled' };
      s.send({ type: 'usermessage', privileged: true, ...reply });
      return;
    }
    default:
      throw new UserError('unknown group action');
  }
}
