import { describe, expect, it } from 'vitest';
import { Throttle } from './Throttle.js';

describe('Throttle', () => {
  it('lets one request through per interval', () => {
    const t = new Throttle(500);
    const results = [0, 10, 100, 499, 500, 501, 999, 1000, 1600].map((now) => t.tryAcquire(now));
    expect(results).toEqual([true, false, false, false, true, false, false, true, true]);
    expect(t.allowed).toBe(4);
    expect(t.suppressed).toBe(5);
  });

  it('many requesters in a burst become one', () => {
    const t = new Throttle(500);
    let passed = 0;
    for (let viewer = 0; viewer < 100; viewer++) if (t.tryAcquire(1234 + viewer)) passed++;
    expect(passed).toBe(1);
  });

  it('at most ceil(duration / interval) requests over a steady stream', () => {
    const t = new Throttle(500);
    let passed = 0;
    for (let now = 0; now < 3000; now += 7) if (t.tryAcquire(now)) passed++;
    expect(passed).toBe(6);
  });
});
