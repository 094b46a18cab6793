import type { GroupDescription, GroupStore } from '../config/GroupStore.js';
import type { ConfigError } from '../config/ConfigError.js';
import { LecternError } from '../errors.js';
import type { Logger } from '../log.js';
import { authorise, type Credentials } from './authorise.js';
import type { Client } from './Client.js';
import { Group } from './Group.js';
import type { TokenStore } from './tokens/TokenStore.js';
import type { EventBus } from '../webhooks/events.js';

/** Why a join failed; `value` is the text Galène's client shows, `wireError` its machine-readable `error`. */
export class JoinError extends LecternError {
  constructor(
    code: string,
    readonly value: string,
    readonly wireError?: 'need-username' | 'duplicate-username',
  ) {
    super(code, value);
  }
}

/** A client as the registry sees it during a join: it receives its identity once authorised. */
export interface JoiningClient extends Client {
  init(username: string, permissions: string[]): void;
}

/**
 * The live groups. A group exists while its file does (groups/<name>.json); under a group with
 * auto-subgroups, `<name>/<x>` is created on first use and dropped once empty with its history expired.
 */
export class GroupRegistry {
  private readonly groups = new Map<string, Group>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: GroupStore,
    private readonly log: Logger,
    private readonly canonicalHost: () => string | undefined = () => undefined,
    /** Stateful tokens (data/var/tokens.jsonl), for token logins and the token group actions. */
    readonly tokens?: TokenStore,
    /** Participant, track and lecture events of every group (webhooks, metrics). */
    readonly events?: EventBus,
  ) {
    this.unsubscribe = store.onChange((name) => this.reloaded(name));
  }

  /** The live group of that name, created from its description if needed; undefined if none exists. */
  get(name: string): Group | undefined {
    const desc = this.describe(name);
    let group = this.groups.get(name);
    if (!desc) {
      if (group && group.clients.size === 0) this.groups.delete(name);
      return undefined;
    }
    if (!group) {
      group = new Group(name, desc, this.events);
      this.groups.set(name, group);
    }
    return group;
  }

  /** Why the group file of `name` cannot be used, when it exists but is invalid. */
  fileError(name: string): ConfigError | undefined {
    return this.store.fileError(name);
  }

  /** Groups with `public` set, sorted by name. */
  publicGroups(): Group[] {
    return this.store
      .list()
      .filter((d) => d.public && !d.redirect)
      .map((d) => this.get(d.name))
      .filter((g): g is Group => g !== undefined)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Live subgroups of a group with their member counts (the op's `subgroups` action). */
  subgroups(parent: string): { name: string; clients: number }[] {
    this.prune();
    return [...this.groups.values()]
      .filter((g) => g.name.startsWith(`${parent}/`) && g.description.isSubgroup)
      .map((g) => ({ name: g.name, clients: g.clients.size }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  live(): Group[] {
    return [...this.groups.values()];
  }

  /** Authenticates and admits a client, following Galène's admission rules. */
  async join(name: string, client: JoiningClient, creds: Credentials): Promise<Group> {
    const group = this.get(name);
    if (!group) throw new JoinError('group-not-found', 'group does not exist');
    const desc = group.description;
    const identity = await authorise(desc, name, creds, this.canonicalHost(), this.tokens);
    if (!identity.ok) throw new JoinError(identity.code, identity.value, identity.wireError);
    const { username, permissions } = identity;
    if (!permissions.includes('op')) {
      if (group.locked !== undefined) throw new JoinError('locked', group.locked || 'this group is locked');
      const now = Date.now();
      if (desc.notBefore !== undefined && desc.notBefore > now) {
        throw new JoinError('not-open', 'this group is not open yet');
      }
      if (desc.expires !== undefined && desc.expires < now) throw new JoinError('closed', 'this group is closed');
      if (desc.autokick && !group.hasOp()) {
        throw new JoinError('no-operators', 'there are no operators in this group');
      }
      if (desc.maxClients > 0 && group.clients.size >= desc.maxClients) {
        throw new JoinError('too-many-users', 'too many users');
      }
    }
    if (group.clients.has(client.id)) throw new JoinError('duplicate-id', 'duplicate client id');
    client.init(username, permissions);
    group.add(client);
    return group;
  }

  leave(client: Client, group: Group): void {
    group.remove(client);
    this.prune();
  }

  close(): void {
    this.unsubscribe();
  }

  private describe(name: string): GroupDescription | undefined {
    return this.store.resolve(name);
  }

  private prune(): void {
    for (const [name, g] of this.groups) {
      if (g.clients.size > 0 || this.store.get(name)) continue;
      if (g.chat.list().length === 0) this.groups.delete(name);
    }
  }

  private reloaded(name: string): void {
    for (const group of this.groups.values()) {
      if (group.name !== name && !group.name.startsWith(`${name}/`)) continue;
      const desc = this.describe(group.name);
      if (!desc) {
        this.log.info({ group: group.name }, 'group removed from configuration');
        continue;
      }
      group.setDescription(desc);
      group.broadcastJoinedChange();
    }
  }
}
