import { describe, expect, it } from 'vitest';
import { DOWN_HOLD_MS, FAIL_WINDOW_MS, LayerSelector, UP_HOLD_MS } from './LayerSelector.js';

const H_L = [1_000_000, 250_000];

describe('LayerSelector', () => {
  it.each([
    // bitrates, limit, pinLow, expected layer (from layer 0, long after any switch)
    [H_L, undefined, false, 0],
    [H_L, 2_000_000, false, 0],
    [H_L, 1_000_000, false, 0],
    [H_L, 900_000, false, 1],
    [H_L, 100_000, false, 1], // nothing fits: the lowest
    [H_L, undefined, true, 1], // video-low pins the low layer
    [[1_000_000], 10_000, false, 0],
    [[0, 250_000], undefined, false, 1], // the high layer is not being sent
    [[0, 0], 100_000, false, 0], // nothing measured yet: stay
    [[2_000_000, 600_000, 150_000], 700_000, false, 1],
  ] as const)('%j limit %s pinLow %s -> %s', (bitrates, limit, pinLow, expected) => {
    const s = new LayerSelector();
    expect(s.choose(bitrates, limit, pinLow, 100_000)).toBe(expected);
  });

  it('goes down at once, up only after the hold and with a margin', () => {
    const s = new LayerSelector();
    let t = 100_000;
    expect(s.choose(H_L, 600_000, false, t)).toBe(1);
    t += UP_HOLD_MS - 1;
    expect(s.choose(H_L, 5_000_000, false, t)).toBe(1); // held
    t += 1;
    expect(s.choose(H_L, 1_100_000, false, t)).toBe(1); // fits, but not with the 15% margin
    expect(s.choose(H_L, 1_200_000, false, t)).toBe(0);
  });

  it('does not flap: a failed up switch doubles the hold, a lasting one resets it', () => {
    const s = new LayerSelector();
    let t = 100_000;
    s.choose(H_L, 500_000, false, t); // down
    t += UP_HOLD_MS;
    expect(s.choose(H_L, undefined, false, t)).toBe(0); // probe up
    t += DOWN_HOLD_MS;
    expect(s.choose(H_L, 500_000, false, t)).toBe(1); // failed: down again
    t += UP_HOLD_MS;
    expect(s.choose(H_L, undefined, false, t)).toBe(1); // hold now doubled
    t += UP_HOLD_MS;
    expect(s.choose(H_L, undefined, false, t)).toBe(0);
    t += FAIL_WINDOW_MS + 1;
    expect(s.choose(H_L, undefined, false, t)).toBe(0); // lasted: hold back to normal
    expect(s.choose(H_L, 500_000, false, t)).toBe(1);
    t += UP_HOLD_MS;
    expect(s.choose(H_L, undefined, false, t)).toBe(0);
  });

  it('does not go down twice within the down hold', () => {
    const s = new LayerSelector();
    const three = [2_000_000, 600_000, 150_000];
    let t = 100_000;
    expect(s.choose(three, 1_000_000, false, t)).toBe(1);
    t += DOWN_HOLD_MS - 1;
    expect(s.choose(three, 200_000, false, t)).toBe(1);
    t += 1;
    expect(s.choose(three, 200_000, false, t)).toBe(2);
  });

  it('leaves a layer that stopped at once', () => {
    const s = new LayerSelector();
    s.choose(H_L, undefined, false, 100_000);
    expect(s.choose([0, 250_000], undefined, false, 100_001)).toBe(1);
  });
});
