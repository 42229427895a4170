/**
 * Unit tests for the scheduler: total order by (atUs, seq), cancellation and re-arming in the
 * indexed heap, run budgets, and a model test against a naive sorted array.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Scheduler, SimEvent, type EventHandler } from './scheduler.js';

/** Records which events fired, by label, and when. */
class Recorder implements EventHandler<string> {
  readonly fired: string[] = [];
  readonly firedAtUs: number[] = [];
  onEvent(event: SimEvent<string>, nowUs: number): void {
    this.fired.push(event.payload);
    this.firedAtUs.push(nowUs);
  }
}

function drain(scheduler: Scheduler): void {
  const end = scheduler.run({ maxEvents: 1_000_000, maxTimeUs: Number.MAX_SAFE_INTEGER });
  expect(end.stoppedBy).toBe('idle');
}

const UNLIMITED = { maxEvents: Number.MAX_SAFE_INTEGER, maxTimeUs: Number.MAX_SAFE_INTEGER };

describe('heap order', () => {
  it('fires events in time order regardless of scheduling order', () => {
    // Arrange
    const scheduler = new Scheduler();
    const recorder = new Recorder();
    for (const [label, atUs] of [['c', 30], ['a', 10], ['d', 40], ['b', 20]] as const) {
      scheduler.schedule(new SimEvent(recorder, 0, label), atUs);
    }
    // Act
    drain(scheduler);
    // Assert
    expect(recorder.fired).toEqual(['a', 'b', 'c', 'd']);
    expect(recorder.firedAtUs).toEqual([10, 20, 30, 40]);
  });

  it('fires many events at the same atUs in scheduling order', () => {
    // Arrange: 1000 ties interleaved with 1000 events at other times, so the heap is deep
    // and siftDown must compare seq across many levels.
    const scheduler = new Scheduler();
    const recorder = new Recorder();
    const expected: string[] = [];
    for (let i = 0; i < 1000; i++) {
      scheduler.schedule(new SimEvent(recorder, 0, `tie${i}`), 500);
      scheduler.schedule(new SimEvent(recorder, 0, `other${i}`), (i * 7919) % 1000 === 500 ? 501 : (i * 7919) % 1000);
      expected.push(`tie${i}`);
    }
    // Act
    drain(scheduler);
    // Assert
    const ties = recorder.fired.filter((label) => label.startsWith('tie'));
    expect(ties).toEqual(expected);
    expect(recorder.firedAtUs).toEqual([...recorder.firedAtUs].sort((a, b) => a - b));
  });

  it('fires an event scheduled for now from inside a handler after the ties already queued', () => {
    // Arrange: a handler that schedules a follow-up at its own time.
    const scheduler = new Scheduler();
    const log: string[] = [];
    const handler: EventHandler<string> = {
      onEvent(event, nowUs) {
        log.push(event.payload);
        if (event.payload === 'first') scheduler.schedule(new SimEvent(handler, 0, 'follow-up'), nowUs);
      },
    };
    scheduler.schedule(new SimEvent(handler, 0, 'first'), 5);
    scheduler.schedule(new SimEvent(handler, 0, 'second'), 5);
    // Act
    drain(scheduler);
    // Assert
    expect(log).toEqual(['first', 'second', 'follow-up']);
  });
});

describe('cancellation', () => {
  function setup(): { scheduler: Scheduler; recorder: Recorder; events: SimEvent<string>[] } {
    const scheduler = new Scheduler();
    const recorder = new Recorder();
    const events = ['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6'].map((label) => new SimEvent(recorder, 0, label));
    events.forEach((event, i) => scheduler.schedule(event, 10 * (i + 1)));
    return { scheduler, recorder, events };
  }

  it('cancelling the head fires the rest in order', () => {
    // Arrange
    const { scheduler, recorder, events } = setup();
    // Act
    scheduler.cancel(events[0]!);
    drain(scheduler);
    // Assert
    expect(events[0]!.pending).toBe(false);
    expect(recorder.fired).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6']);
  });

  it('cancelling a middle event fires the rest in order', () => {
    // Arrange
    const { scheduler, recorder, events } = setup();
    // Act
    scheduler.cancel(events[3]!);
    expect(scheduler.pendingCount).toBe(6);
    drain(scheduler);
    // Assert
    expect(recorder.fired).toEqual(['e0', 'e1', 'e2', 'e4', 'e5', 'e6']);
  });

  it('cancelling the last slot of the heap fires the rest in order', () => {
    // Arrange: the latest event sits in the heap's last slot.
    const { scheduler, recorder, events } = setup();
    // Act
    scheduler.cancel(events[6]!);
    drain(scheduler);
    // Assert
    expect(recorder.fired).toEqual(['e0', 'e1', 'e2', 'e3', 'e4', 'e5']);
  });

  it('cancelling moves the last event up when it is earlier than its new parent', () => {
    // Arrange: scheduling these times in this order builds the heap [2, 56, 52, 70, 78, 76, 54].
    // Cancelling 70 (slot 3) moves 54 from the last slot under 56, so it must sift up.
    const scheduler = new Scheduler();
    const recorder = new Recorder();
    const events = new Map<number, SimEvent<string>>();
    for (const atUs of [2, 70, 76, 56, 78, 54, 52]) {
      const event = new SimEvent(recorder, 0, `at${atUs}`);
      events.set(atUs, event);
      scheduler.schedule(event, atUs);
    }
    // Act
    scheduler.cancel(events.get(70)!);
    drain(scheduler);
    // Assert
    expect(recorder.firedAtUs).toEqual([2, 52, 54, 56, 76, 78]);
  });

  it('cancelling an event that already fired is a no-op', () => {
    // Arrange
    const { scheduler, recorder, events } = setup();
    scheduler.step();
    // Act
    scheduler.cancel(events[0]!);
    drain(scheduler);
    // Assert
    expect(scheduler.pendingCount).toBe(0);
    expect(recorder.fired).toEqual(['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6']);
  });

  it('cancelling an event that was never scheduled is a no-op', () => {
    // Arrange
    const { scheduler, recorder } = setup();
    const stranger = new SimEvent(recorder, 0, 'stranger');
    // Act
    scheduler.cancel(stranger);
    // Assert
    expect(scheduler.pendingCount).toBe(7);
    drain(scheduler);
    expect(recorder.fired).toEqual(['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6']);
  });

  it('cancelling the same event twice removes it once', () => {
    // Arrange
    const { scheduler, recorder, events } = setup();
    // Act
    scheduler.cancel(events[2]!);
    scheduler.cancel(events[2]!);
    // Assert
    expect(scheduler.pendingCount).toBe(6);
    drain(scheduler);
    expect(recorder.fired).toEqual(['e0', 'e1', 'e3', 'e4', 'e5', 'e6']);
  });

  it('cancelling every event leaves an idle scheduler whose clock has not moved', () => {
    // Arrange
    const { scheduler, recorder, events } = setup();
    // Act
    for (const event of [...events].reverse()) scheduler.cancel(event);
    const end = scheduler.run(UNLIMITED);
    // Assert
    expect(end).toEqual({ stoppedBy: 'idle', events: 0, endUs: 0 });
    expect(recorder.fired).toEqual([]);
    expect(scheduler.peekTimeUs()).toBe(Infinity);
  });
});

describe('re-arming', () => {
  it('re-arming earlier moves the event ahead', () => {
    // Arrange
    const scheduler = new Scheduler();
    const recorder = new Recorder();
    const a = new SimEvent(recorder, 0, 'a');
    const b = new SimEvent(recorder, 0, 'b');
    scheduler.schedule(a, 10);
    scheduler.schedule(b, 50);
    // Act
    scheduler.schedule(b, 5);
    drain(scheduler);
    // Assert
    expect(recorder.fired).toEqual(['b', 'a']);
    expect(recorder.firedAtUs).toEqual([5, 10]);
  });

  it('re-arming later moves the event behind and it fires once', () => {
    // Arrange
    const scheduler = new Scheduler();
    const recorder = new Recorder();
    const a = new SimEvent(recorder, 0, 'a');
    const b = new SimEvent(recorder, 0, 'b');
    scheduler.schedule(a, 10);
    scheduler.schedule(b, 20);
    // Act
    scheduler.schedule(a, 30);
    drain(scheduler);
    // Assert
    expect(recorder.fired).toEqual(['b', 'a']);
    expect(recorder.firedAtUs).toEqual([20, 30]);
  });

  it('re-arming at the same atUs gets a fresh tie-breaker and fires after existing ties', () => {
    // Arrange: a, b, c tie at 10; a is re-armed to the same time.
    const scheduler = new Scheduler();
    const recorder = new Recorder();
    const [a, b, c] = ['a', 'b', 'c'].map((label) => new SimEvent(recorder, 0, label)) as [SimEvent<string>, SimEvent<string>, SimEvent<string>];
    scheduler.schedule(a, 10);
    scheduler.schedule(b, 10);
    scheduler.schedule(c, 10);
    // Act
    scheduler.schedule(a, 10);
    drain(scheduler);
    // Assert
    expect(recorder.fired).toEqual(['b', 'c', 'a']);
  });

  it('re-arming earlier onto a tie fires after the events already there', () => {
    // Arrange
    const scheduler = new Scheduler();
    const recorder = new Recorder();
    const a = new SimEvent(recorder, 0, 'a');
    const b = new SimEvent(recorder, 0, 'b');
    scheduler.schedule(a, 10);
    scheduler.schedule(b, 20);
    // Act
    scheduler.schedule(b, 10);
    drain(scheduler);
    // Assert
    expect(recorder.fired).toEqual(['a', 'b']);
  });

  it('an event can be re-armed from its own handler after it fired', () => {
    // Arrange: a periodic timer that re-arms itself three times.
    const scheduler = new Scheduler();
    const firedAtUs: number[] = [];
    const handler: EventHandler<null> = {
      onEvent(event, nowUs) {
        firedAtUs.push(nowUs);
        if (firedAtUs.length < 3) scheduler.scheduleIn(event, 100);
      },
    };
    scheduler.schedule(new SimEvent(handler, 0, null), 7);
    // Act
    drain(scheduler);
    // Assert
    expect(firedAtUs).toEqual([7, 107, 207]);
  });
});

describe('model: random schedule/cancel/re-arm/step against a sorted array', () => {
  type Op =
    | { readonly op: 'schedule'; readonly event: number; readonly delayUs: number }
    | { readonly op: 'cancel'; readonly event: number }
    | { readonly op: 'step' };

  const EVENTS = 40;
  // Delays from a small range make ties common; a pool of 40 events makes the heap deep enough
  // (six levels) that a cancel can pull a small key into a subtree where it must sift up, while
  // re-arms and cancels of pending events stay common.
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant('schedule' as const), event: fc.nat(EVENTS - 1), delayUs: fc.nat(20) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('cancel' as const), event: fc.nat(EVENTS - 1) }) },
    { weight: 3, arbitrary: fc.constant({ op: 'step' as const }) },
  );

  /** The obviously right scheduler: an array kept sorted by (atUs, seq). */
  class NaiveModel {
    nowUs = 0;
    private seq = 0;
    entries: { event: number; atUs: number; seq: number }[] = [];
    schedule(event: number, atUs: number): void {
      this.cancel(event);
      this.entries.push({ event, atUs, seq: this.seq++ });
      this.entries.sort((x, y) => x.atUs - y.atUs || x.seq - y.seq);
    }
    cancel(event: number): void {
      this.entries = this.entries.filter((entry) => entry.event !== event);
    }
    step(): number | null {
      const head = this.entries.shift();
      if (head === undefined) return null;
      this.nowUs = head.atUs;
      return head.event;
    }
  }

  it('the heap fires the same events at the same times as the model', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 400 }), (ops) => {
        // Arrange
        const scheduler = new Scheduler();
        const model = new NaiveModel();
        const fired: number[] = [];
        const handler: EventHandler<number> = { onEvent: (event) => void fired.push(event.payload) };
        const events = Array.from({ length: EVENTS }, (_, i) => new SimEvent(handler, 0, i));
        for (const op of ops) {
          // Act
          switch (op.op) {
            case 'schedule':
              scheduler.scheduleIn(events[op.event]!, op.delayUs);
              model.schedule(op.event, model.nowUs + op.delayUs);
              break;
            case 'cancel':
              scheduler.cancel(events[op.event]!);
              model.cancel(op.event);
              break;
            case 'step': {
              const before = fired.length;
              const stepped = scheduler.step();
              const expected = model.step();
              // Assert
              expect(stepped).toBe(expected !== null);
              expect(fired.slice(before)).toEqual(expected === null ? [] : [expected]);
              break;
            }
          }
          // Assert
          expect(scheduler.nowUs).toBe(model.nowUs);
          expect(scheduler.pendingCount).toBe(model.entries.length);
          expect(scheduler.peekTimeUs()).toBe(model.entries[0]?.atUs ?? Infinity);
          for (let i = 0; i < EVENTS; i++) expect(events[i]!.pending).toBe(model.entries.some((entry) => entry.event === i));
        }
        // Act: drain both and compare the rest of the order.
        const rest: number[] = [];
        for (let next = model.step(); next !== null; next = model.step()) rest.push(next);
        const before = fired.length;
        drain(scheduler);
        // Assert
        expect(fired.slice(before)).toEqual(rest);
      }),
      { numRuns: 300 },
    );
  });

  it('with a few repeated delays (FIFO lanes), long queues, cancels and re-arms, it fires as the model does', () => {
    // Arrange: 600 events and three delays, so lanes form, hold hundreds of events and compact
    // after many cancels; a fourth, rarer delay keeps the heap in play.
    const LANE_EVENTS = 600;
    const laneOpArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 8, arbitrary: fc.record({ op: fc.constant('schedule' as const), event: fc.nat(LANE_EVENTS - 1), delayUs: fc.constantFrom(0, 1_000, 60_000_000, 1_000, 60_000_000, 7) }) },
      { weight: 3, arbitrary: fc.record({ op: fc.constant('cancel' as const), event: fc.nat(LANE_EVENTS - 1) }) },
      { weight: 2, arbitrary: fc.constant({ op: 'step' as const }) },
    );
    fc.assert(
      fc.property(fc.array(laneOpArb, { minLength: 2_000, maxLength: 4_000 }), (ops) => {
        const scheduler = new Scheduler();
        const model = new NaiveModel();
        const fired: number[] = [];
        const handler: EventHandler<number> = { onEvent: (event) => void fired.push(event.payload) };
        const events = Array.from({ length: LANE_EVENTS }, (_, i) => new SimEvent(handler, 0, i));
        const expected: number[] = [];
        for (const op of ops) {
          // Act
          if (op.op === 'schedule') {
            scheduler.scheduleIn(events[op.event]!, op.delayUs);
            model.schedule(op.event, model.nowUs + op.delayUs);
          } else if (op.op === 'cancel') {
            scheduler.cancel(events[op.event]!);
            model.cancel(op.event);
          } else {
            scheduler.step();
            const next = model.step();
            if (next !== null) expected.push(next);
          }
        }
        // Assert
        expect(scheduler.pendingCount).toBe(model.entries.length);
        expect(scheduler.peekTimeUs()).toBe(model.entries[0]?.atUs ?? Infinity);
        for (let next = model.step(); next !== null; next = model.step()) expected.push(next);
        drain(scheduler);
        expect(fired).toEqual(expected);
        expect(scheduler.nowUs).toBe(model.nowUs);
      }),
      { numRuns: 20 },
    );
  });
});

describe('run budgets', () => {
  function tenEvents(): { scheduler: Scheduler; recorder: Recorder } {
    const scheduler = new Scheduler();
    const recorder = new Recorder();
    for (let i = 1; i <= 10; i++) scheduler.schedule(new SimEvent(recorder, 0, `e${i}`), i * 100);
    return { scheduler, recorder };
  }

  it("stops 'idle' when the queue empties", () => {
    // Arrange
    const { scheduler, recorder } = tenEvents();
    // Act
    const end = scheduler.run(UNLIMITED);
    // Assert
    expect(end).toEqual({ stoppedBy: 'idle', events: 10, endUs: 1000 });
    expect(recorder.fired).toHaveLength(10);
    expect(scheduler.eventsFired).toBe(10);
  });

  it("stops 'event-budget' after exactly maxEvents events", () => {
    // Arrange
    const { scheduler, recorder } = tenEvents();
    // Act
    const end = scheduler.run({ maxEvents: 4, maxTimeUs: Number.MAX_SAFE_INTEGER });
    // Assert
    expect(end).toEqual({ stoppedBy: 'event-budget', events: 4, endUs: 400 });
    expect(recorder.fired).toEqual(['e1', 'e2', 'e3', 'e4']);
    expect(scheduler.pendingCount).toBe(6);
  });

  it("stops 'idle', not 'event-budget', when the last event uses up the budget exactly", () => {
    // Arrange
    const { scheduler } = tenEvents();
    // Act
    const end = scheduler.run({ maxEvents: 10, maxTimeUs: Number.MAX_SAFE_INTEGER });
    // Assert
    expect(end.stoppedBy).toBe('idle');
  });

  it("stops 'time-budget' with the clock at maxTimeUs; an event at exactly maxTimeUs fires", () => {
    // Arrange
    const { scheduler, recorder } = tenEvents();
    // Act
    const end = scheduler.run({ maxEvents: Number.MAX_SAFE_INTEGER, maxTimeUs: 450 });
    // Assert
    expect(end).toEqual({ stoppedBy: 'time-budget', events: 4, endUs: 450 });
    expect(scheduler.nowUs).toBe(450);
    expect(recorder.fired).toEqual(['e1', 'e2', 'e3', 'e4']);
    // Act: an event exactly at the limit fires.
    const again = scheduler.run({ maxEvents: Number.MAX_SAFE_INTEGER, maxTimeUs: 500 });
    // Assert
    expect(again).toEqual({ stoppedBy: 'time-budget', events: 1, endUs: 500 });
    expect(recorder.fired.at(-1)).toBe('e5');
  });

  it('a later run resumes where the budget stopped', () => {
    // Arrange
    const { scheduler, recorder } = tenEvents();
    scheduler.run({ maxEvents: 3, maxTimeUs: Number.MAX_SAFE_INTEGER });
    // Act
    const end = scheduler.run(UNLIMITED);
    // Assert
    expect(end).toEqual({ stoppedBy: 'idle', events: 7, endUs: 1000 });
    expect(recorder.fired).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9', 'e10']);
  });

  it("stops 'stop-requested' after the event that asked", () => {
    // Arrange
    const scheduler = new Scheduler();
    const fired: number[] = [];
    const handler: EventHandler<number> = {
      onEvent(event) {
        fired.push(event.payload);
        if (event.payload === 2) scheduler.requestStop();
      },
    };
    for (let i = 1; i <= 5; i++) scheduler.schedule(new SimEvent(handler, 0, i), i);
    // Act
    const end = scheduler.run(UNLIMITED);
    // Assert
    expect(end).toEqual({ stoppedBy: 'stop-requested', events: 2, endUs: 2 });
    expect(fired).toEqual([1, 2]);
    // Act: the request was for that run only; the next one goes on.
    const next = scheduler.run(UNLIMITED);
    // Assert
    expect(next).toEqual({ stoppedBy: 'idle', events: 3, endUs: 5 });
    expect(fired).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('time validity', () => {
  it('scheduling in the past throws and leaves the queue untouched', () => {
    // Arrange
    const scheduler = new Scheduler();
    const recorder = new Recorder();
    scheduler.schedule(new SimEvent(recorder, 0, 'a'), 100);
    scheduler.step();
    const late = new SimEvent(recorder, 0, 'late');
    // Act + Assert
    expect(() => scheduler.schedule(late, 99)).toThrow(/past/);
    expect(late.pending).toBe(false);
    expect(scheduler.pendingCount).toBe(0);
  });

  it('scheduling exactly at now is allowed', () => {
    // Arrange
    const scheduler = new Scheduler();
    const recorder = new Recorder();
    scheduler.schedule(new SimEvent(recorder, 0, 'a'), 100);
    scheduler.step();
    // Act
    scheduler.schedule(new SimEvent(recorder, 0, 'now'), 100);
    drain(scheduler);
    // Assert
    expect(recorder.fired).toEqual(['a', 'now']);
  });

  it('a negative delay, a fractional time or a non-finite time throws', () => {
    // Arrange
    const scheduler = new Scheduler();
    const event = new SimEvent(new Recorder(), 0, 'x');
    // Act + Assert
    expect(() => scheduler.scheduleIn(event, -1)).toThrow(/past/);
    expect(() => scheduler.schedule(event, 1.5)).toThrow(/integer/);
    expect(() => scheduler.schedule(event, Infinity)).toThrow(/integer/);
    expect(() => scheduler.schedule(event, Number.NaN)).toThrow(/integer/);
    expect(scheduler.pendingCount).toBe(0);
  });

  it('re-arming a pending event into the past throws and keeps it where it was', () => {
    // Arrange
    const scheduler = new Scheduler();
    const recorder = new Recorder();
    scheduler.schedule(new SimEvent(recorder, 0, 'first'), 50);
    const timer = new SimEvent(recorder, 0, 'timer');
    scheduler.schedule(timer, 80);
    scheduler.step();
    // Act + Assert
    expect(() => scheduler.schedule(timer, 49)).toThrow(/past/);
    expect(timer.pending).toBe(true);
    drain(scheduler);
    expect(recorder.firedAtUs).toEqual([50, 80]);
  });
});
