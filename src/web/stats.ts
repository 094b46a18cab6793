import type { ConnStats } from '../forward/types.js';
import type { GroupRegistry } from '../group/GroupRegistry.js';
import { Session } from '../signal/Session.js';

/** Galène's `.stats` shape (stats/stats.go): per group, per client, per connection (forward/types.ts), per track. */
export interface ClientStats {
  id: string;
  up?: ConnStats[];
  down?: ConnStats[];
}
export interface GroupStats {
  name: string;
  clients?: ClientStats[];
}

export function collectStats(registry: GroupRegistry): GroupStats[] {
  return registry
    .live()
    .map((g) => ({
      name: g.name,
      clients: g.members().map((c) => (c instanceof Session ? { id: c.id, ...c.media.stats() } : { id: c.id })),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
