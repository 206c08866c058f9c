import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Lifecycle, type Component } from '../../../services/base/index.ts';

const quiet = { warn: (): void => undefined };

function recorder(names: string[], events: string[], extra: Partial<Record<string, Partial<Component>>> = {}): Component[] {
  return names.map((name) => ({
    name,
    start: () => { events.push(`start ${name}`); },
    stop: (budgetMs: number) => { events.push(`stop ${name} ${budgetMs}`); },
    ...extra[name],
  }));
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0, toFake: ['Date', 'setTimeout', 'clearTimeout'] });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('Lifecycle', () => {
  it('starts in order and stops in reverse, each stop given its share of the deadline', async () => {
    const events: string[] = [];
    const l = new Lifecycle(recorder(['a', 'b', 'c'], events, { b: { stopShareMs: 300 } }), 5_000, quiet);
    await l.start();
    expect(events).toEqual(['start a', 'start b', 'start c']);
    await l.stop();
    expect(events.slice(3)).toEqual(['stop c 5000', 'stop b 300', 'stop a 5000']);
  });

  it('a stop during start stops what started (the one in progress included) and starts nothing more', async () => {
    const events: string[] = [];
    let release!: () => void;
    const slow = new Promise<void>((r) => { release = r; });
    const l = new Lifecycle(recorder(['a', 'b', 'c'], events, {
      b: { start: async () => { events.push('start b'); await slow; } },
    }), 5_000, quiet);
    const starting = l.start();
    await Promise.resolve();
    const stopping = l.stop();
    expect(l.stopping).toBe(true);
    release();
    await starting;
    await stopping;
    expect(events).toEqual(['start a', 'start b', 'stop b 5000', 'stop a 5000']);
  });

  it('a start that waits for readiness gives up when the stop begins (its signal aborts); stop does not wait out the deadline', async () => {
    const events: string[] = [];
    const l = new Lifecycle(recorder(['a', 'waits', 'never'], events, {
      waits: {
        start: (signal) => new Promise<void>((resolve) => {
          events.push('start waits');
          signal.addEventListener('abort', () => { events.push('waits gave up'); resolve(); });
        }),
      },
    }), 5_000, quiet);
    const starting = l.start();
    await Promise.resolve();
    await l.stop();
    await starting;
    expect(events).toEqual(['start a', 'start waits', 'waits gave up', 'stop waits 5000', 'stop a 5000']);
  });

  it('a stop that outlives the deadline is left running; the earlier components still stop, with no time left', async () => {
    const events: string[] = [];
    const warned: string[] = [];
    const l = new Lifecycle(recorder(['a', 'hangs'], events, {
      hangs: { stop: () => new Promise<void>(() => { events.push('stop hangs'); }) },
    }), 1_000, { warn: (_o, msg) => { warned.push(msg); } });
    await l.start();
    const stopping = l.stop();
    await vi.advanceTimersByTimeAsync(1_000);
    await stopping;
    expect(events).toEqual(['start a', 'start hangs', 'stop hangs', 'stop a 0']);
    expect(warned).toEqual(['stop deadline reached; not waiting for this component']);
  });

  it('a failing stop is reported and the others still stop', async () => {
    const events: string[] = [];
    const warned: string[] = [];
    const l = new Lifecycle(recorder(['a', 'fails'], events, {
      fails: { stop: () => { throw new Error('boom'); } },
    }), 5_000, { warn: (_o, msg) => { warned.push(msg); } });
    await l.start();
    await l.stop();
    expect(events).toEqual(['start a', 'start fails', 'stop a 5000']);
    expect(warned).toEqual(['component stop failed']);
  });

  it('a failed start rejects; stop then stops the components started so far', async () => {
    const events: string[] = [];
    const l = new Lifecycle(recorder(['a', 'b', 'c'], events, {
      b: { start: () => { throw new Error('no etcd'); } },
    }), 5_000, quiet);
    await expect(l.start()).rejects.toThrow('no etcd');
    await l.stop();
    expect(events).toEqual(['start a', 'stop b 5000', 'stop a 5000']);
  });
});
