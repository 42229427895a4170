/**
 * Scheduler throughput under a timer-like load: with P events pending, every fired event
 * re-arms itself at a random later time, and after every second fire another pending timer is
 * cancelled and armed anew, as an ACK cancels a retransmission timer. So a third of the timers
 * are cancelled before they fire and the queue stays at P.
 *
 * The figure counts fired events only (each one scheduled and fired); the schedule + cancel of
 * the cancelled third is work done in the same time, so the figure is the conservative one.
 */
import { Scheduler, SimEvent, type EventHandler } from '../sim/scheduler.js';
import { bestRatePerSecond, timed, type Benchmark, type Measurement, type Sample } from './benchmark.js';

/** 4 M events/s with 10^4 pending: a 10^5-event TCP run then costs the scheduler 25 ms. */
const TARGET_EVENTS_PER_SECOND = 4_000_000;
const TARGET_PENDING = 10_000;

const PENDING_COUNTS = [1_000, 10_000, 100_000] as const;
/** Fired events per timed repetition. */
const FIRES_PER_REPETITION = 2_000_000;
/** Delays are uniform in [1, MAX_DELAY_US], so new events land all over the queue. */
const MAX_DELAY_US = 1_000_000;

export const schedulerBenchmark: Benchmark = {
  name: 'scheduler',
  description: 'scheduler events/s (schedule + fire; a third of the timers cancelled) at 10^3, 10^4, 10^5 pending',
  run(): Measurement[] {
    return PENDING_COUNTS.map((pending) => {
      const rate = bestRatePerSecond({ warmups: 2, repetitions: 5 }, () => timerLoad(pending, FIRES_PER_REPETITION));
      return {
        figure: `scheduler events/s, ${pending} pending, 1/3 cancelled`,
        value: Math.round(rate),
        unit: 'events/s',
        ...(pending === TARGET_PENDING ? { target: { op: '>=' as const, value: TARGET_EVENTS_PER_SECOND } } : {}),
      };
    });
  },
};

/** Fill a scheduler with `pending` timers (untimed), then time `fires` fired events. */
export function timerLoad(pending: number, fires: number): Sample {
  const scheduler = new Scheduler();
  // Random delays and victims come from tables filled before the clock starts, so the timed
  // loop spends its time in the scheduler, not in a generator (or the GC behind one).
  const delays = randomTable(0x9e3779b9 ^ pending, (x) => 1 + (x % MAX_DELAY_US));
  const victims = randomTable(0x85ebca6b ^ pending, (x) => x % pending);
  let draws = 0;
  const timers: SimEvent<number>[] = [];
  let fired = 0;
  const handler: EventHandler<number> = {
    onEvent(event, nowUs) {
      fired++;
      scheduler.schedule(event, nowUs + delays[draws++ & TABLE_MASK]!);
      if ((fired & 1) === 0) {
        // An ACK arrives: some other timer is cancelled before it fires, and armed again.
        const victim = timers[victims[draws & TABLE_MASK]!]!;
        if (victim !== event) {
          scheduler.cancel(victim);
          scheduler.schedule(victim, nowUs + delays[draws++ & TABLE_MASK]!);
        }
      }
    },
  };
  for (let i = 0; i < pending; i++) {
    const timer = new SimEvent(handler, 0, i);
    timers.push(timer);
    scheduler.schedule(timer, delays[draws++ & TABLE_MASK]!);
  }
  const sample = timed(() => scheduler.run({ maxEvents: fires, maxTimeUs: Number.MAX_SAFE_INTEGER }).events);
  if (scheduler.pendingCount !== pending) throw new Error(`the load leaked: ${scheduler.pendingCount} pending, expected ${pending}`);
  if (fired !== fires) throw new Error(`fired ${fired} events, expected ${fires}`);
  return sample;
}

const TABLE_SIZE = 1 << 16;
const TABLE_MASK = TABLE_SIZE - 1;

/** 2^16 values of `map(x)` for x from xorshift32: benchmarks need speed, not the named streams. */
function randomTable(seed: number, map: (x: number) => number): Int32Array {
  const table = new Int32Array(TABLE_SIZE);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < TABLE_SIZE; i++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    table[i] = map(state);
  }
  return table;
}
