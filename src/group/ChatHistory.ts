/** A group's chat history (Galène: the last 50 messages, each kept for max-history-age seconds). */
export interface ChatEntry {
  id: string;
  source: string;
  username: string;
  time: Date;
  kind: string;
  value: unknown;
}

export const MAX_CHAT_HISTORY = 50;

export class ChatHistory {
  private entries: ChatEntry[] = [];

  constructor(private maxAgeSeconds: number) {}

  setMaxAge(seconds: number): void {
    this.maxAgeSeconds = seconds;
  }

  add(entry: ChatEntry): void {
    this.entries.push(entry);
    if (this.entries.length > MAX_CHAT_HISTORY) this.entries.splice(0, this.entries.length - MAX_CHAT_HISTORY);
  }

  /** The entries still within the age limit, oldest first. */
  list(now: Date = new Date()): ChatEntry[] {
    const oldest = now.getTime() - this.maxAgeSeconds * 1000;
    this.entries = this.entries.filter((e) => e.time.getTime() >= oldest);
    return [...this.entries];
  }

  /** Clears everything, every message of one user (`userId`), or a single message (`id` and `userId`). */
  clear(id?: string, userId?: string): void {
    if (!id && !userId) this.entries = [];
    else if (!id) this.entries = this.entries.filter((e) => e.source !== userId);
    else this.entries = this.entries.filter((e) => !(e.id === id && e.source === userId));
  }
}
