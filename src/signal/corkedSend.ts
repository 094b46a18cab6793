import type { Writable } from 'node:stream';

/**
 * Wraps a WebSocket's `send` so that everything sent to one client in one turn of the event loop leaves in one
 * socket write: the first send of a turn corks the underlying TCP socket, and a `setImmediate` uncorks it.
 *
 * Why: `ws` writes every message as soon as it is sent, one `writev` system call each. A join in a group of N
 * sends N `user` messages to the newcomer and one to each of the N members, so a burst of joins cost the server
 * thousands of small writes (~2.5 ms of CPU per joining viewer at N = 100, NOTES.md "Burst joins"). Corked, the
 * newcomer's messages, and every member's messages about the joins handled in the same turn, go out together.
 * Frames are unchanged (one WebSocket message per protocol message); they leave at most one event-loop turn
 * later. `ws` corks and uncorks around each frame itself; Node counts corks, so ours holds until the turn ends.
 */
export function corkedSend(socket: Writable, send: (text: string) => void): (text: string) => void {
  let corked = false;
  const uncork = (): void => {
    corked = false;
    if (socket.writableCorked > 0) socket.uncork();
  };
  return (text: string) => {
    if (!corked && !socket.destroyed && !socket.writableEnded) {
      corked = true;
      socket.cork();
      setImmediate(uncork);
    }
    send(text);
  };
}
