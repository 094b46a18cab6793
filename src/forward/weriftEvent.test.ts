/**
 * werift's `Event` as scripts/patch-werift.mjs leaves it (npm install's postinstall): its methods are made on
 * first use, and it behaves as before.
 */
import { describe, expect, it } from 'vitest';
import { Event } from 'werift';

describe("werift's Event after scripts/patch-werift.mjs", () => {
  it('is patched: a new Event holds no method closures until one is used', () => {
    const e = new Event<[number]>();
    expect(Object.getOwnPropertyNames(e).sort()).toEqual(['ended', 'event', 'onended']);
    e.subscribe(() => undefined);
    expect(Object.getOwnPropertyNames(e)).toContain('subscribe');
    expect(Object.getOwnPropertyNames(e)).not.toContain('asPromise');
  });

  it('delivers to subscribers, also through a detached execute, and unsubscribes', () => {
    const e = new Event<[number]>();
    const got: number[] = [];
    const sub = e.subscribe((x) => got.push(x));
    const { execute } = e;
    execute(1);
    e.execute(2);
    sub.unSubscribe();
    e.execute(3);
    expect(got).toEqual([1, 2]);
    expect(e.execute).toBe(execute); // made once, then kept
  });

  it('once, watch and asPromise resolve as before; complete ends it', async () => {
    const e = new Event<[number]>();
    const once: number[] = [];
    e.once((x) => once.push(x));
    const watched = e.watch((x) => x === 3);
    const next = e.asPromise();
    e.execute(1);
    e.execute(2);
    e.execute(3);
    expect(once).toEqual([1]);
    expect(await next).toEqual([1]);
    expect(await watched).toEqual([3]);
    let completed = false;
    e.subscribe(
      () => undefined,
      () => (completed = true),
    );
    e.complete();
    expect(completed).toBe(true);
    expect(e.ended).toBe(true);
  });

  it('runs queuing subscribers in order, and sends their errors to an assigned onerror', async () => {
    const e = new Event<[number]>();
    const got: number[] = [];
    const errors: unknown[] = [];
    e.onerror = (err) => errors.push(err);
    e.queuingSubscribe(async (x) => {
      await new Promise((r) => setTimeout(r, 5));
      got.push(x);
      if (x === 2) throw new Error('boom');
    });
    e.execute(1);
    e.execute(2);
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toEqual([1, 2]);
    expect(errors).toHaveLength(1);
  });
});
