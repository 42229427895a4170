/**
 * Deterministic discrete-event scheduler.
 *
 * Time is an integer count of microseconds (`nowUs`), so durations such as 2·MSL are exact.
 * Events are totally ordered by `(atUs, seq)`: `seq` is a rising counter assigned whenever an
 * event is (re)scheduled, so ties fire in the order they were scheduled (turmoil-net's
 * `Scheduled` tie-breaker). The queue is an indexed binary heap: every event knows its slot,
 * so cancelling or re-arming a timer is O(log n) with no tombstones left behind. That matters
 * because retransmission timers re-arm on every ACK and TIME_WAIT restarts on a retransmitted FIN.
 *
 * Beside the heap, FIFO lanes (Node's own timer lists do the same): events scheduled with the
 * same delay from a clock that never goes back come in `(atUs, seq)` order, so a plain queue per
 * delay keeps them sorted, at O(1) a schedule and a fire. A simulation schedules most of its
 * events with a handful of delays — every segment on a link with its one-way delay, every
 * TIME-WAIT with 2·MSL, every application wake-up with 0 — and at 10^5 connections the heap
 * would otherwise hold 60,000 TIME-WAIT timers, 16 levels deep. A delay gets a lane once it has
 * come up `LANE_AFTER` times in a row of its slot; the next event is the earliest of the heap's
 * top and the lanes' heads, so the order is exactly the heap's alone.
 *
 * Nothing here reads the wall clock; the only time is `nowUs`.
 */

/** Something an event is delivered to. One handler serves many events; `kind` tells them apart. */
export interface EventHandler<P = unknown> {
  onEvent(event: SimEvent<P>, nowUs: number): void;
}

/**
 * A schedulable event. Allocate it once and re-arm it as often as needed (a timer), or allocate
 * one per occurrence (a segment in flight). `payload` is free for the handler's use.
 */
export class SimEvent<P = unknown> {
  /** Virtual time at which the event fires, valid while `pending`. */
  atUs = 0;
  /** Tie-breaker: order of (re)scheduling. */
  seq = 0;
  /** Slot in the heap, or in `lane`'s queue; -1 when not scheduled. */
  heapIndex = -1;
  /** The FIFO lane holding the event, or null when it is in the heap (or not scheduled). */
  lane: Lane | null = null;

  constructor(
    readonly handler: EventHandler<P>,
    readonly kind: number,
    public payload: P,
  ) {}

  get pending(): boolean {
    return this.heapIndex >= 0;
  }
}

/** Why `run` returned. A run never hangs: one of the budgets always ends it. */
export type RunEnd =
  | { readonly stoppedBy: 'idle'; readonly events: number; readonly endUs: number }
  | { readonly stoppedBy: 'event-budget'; readonly events: number; readonly endUs: number }
  | { readonly stoppedBy: 'time-budget'; readonly events: number; readonly endUs: number }
  | { readonly stoppedBy: 'stop-requested'; readonly events: number; readonly endUs: number };

export interface RunLimits {
  /** Fire at most this many events in this call. */
  readonly maxEvents: number;
  /** Do not fire events scheduled after this virtual time; the clock stops there. */
  readonly maxTimeUs: number;
}

/**
 * Events scheduled with one delay, in `(atUs, seq)` order: a ring buffer, so a busy lane
 * allocates nothing once it has grown to its working size. An event's `heapIndex` is its
 * position, counted up from the last renumbering; a cancelled event leaves a null behind, which
 * the head steps over.
 */
class Lane {
  private items: (SimEvent<any> | null)[] = new Array<SimEvent<any> | null>(LANE_INITIAL_SLOTS).fill(null);
  private mask = LANE_INITIAL_SLOTS - 1;
  /** Position of the first live event; `head === tail` when there is none. */
  private head = 0;
  /** Position the next event gets. */
  private tail = 0;
  /** Live events. */
  size = 0;

  constructor(public delayUs: number) {}

  /** The earliest event, or undefined. */
  first(): SimEvent<any> | undefined {
    return this.head < this.tail ? this.items[this.head & this.mask]! : undefined;
  }

  append(event: SimEvent<any>): void {
    if (this.tail - this.head === this.items.length) this.renumber(2 * this.items.length);
    else if (this.tail >= LANE_RENUMBER_AT) this.renumber(this.items.length);
    event.lane = this;
    event.heapIndex = this.tail;
    this.items[this.tail & this.mask] = event;
    this.tail++;
    this.size++;
  }

  remove(event: SimEvent<any>): void {
    const position = event.heapIndex;
    this.items[position & this.mask] = null;
    event.heapIndex = -1;
    event.lane = null;
    this.size--;
    if (position !== this.head) return;
    const items = this.items;
    const mask = this.mask;
    let head = this.head + 1;
    while (head < this.tail && items[head & mask] === null) head++;
    if (head === this.tail) {
      // Empty: positions start again from 0.
      head = 0;
      this.tail = 0;
    }
    this.head = head;
  }

  /**
   * Move the live span to a ring of `slots` slots, positions from 0: to grow, and now and then
   * so positions stay small integers (an event's `heapIndex` must not become a boxed number).
   */
  private renumber(slots: number): void {
    const items = new Array<SimEvent<any> | null>(slots).fill(null);
    let position = 0;
    for (let old = this.head; old < this.tail; old++) {
      const event = this.items[old & this.mask]!;
      if (event === null) continue;
      event.heapIndex = position;
      items[position++] = event;
    }
    this.items = items;
    this.mask = slots - 1;
    this.head = 0;
    this.tail = position;
  }
}

/** A delay gets a lane after this many schedules in a row with it (in its slot). */
const LANE_AFTER = 8;
const MAX_LANES = 8;
const LANE_SLOT_BITS = 6;
const LANE_INITIAL_SLOTS = 16;
/** Positions are renumbered from 0 before they pass this (well inside V8's small integers). */
const LANE_RENUMBER_AT = 2 ** 30;

export class Scheduler {
  private nowUsValue = 0;
  private readonly heap: SimEvent<any>[] = [];
  private nextSeq = 0;
  private firedTotal = 0;
  private stopRequested = false;
  /** Lanes in use (a short list: the next event is looked for in each). */
  private readonly lanes: Lane[] = [];
  private laneEvents = 0;
  /** Which delay each slot counts, how often in a row it came, and its lane once it has one. */
  private readonly slotDelayUs = new Float64Array(1 << LANE_SLOT_BITS).fill(-1);
  private readonly slotCount = new Int32Array(1 << LANE_SLOT_BITS);
  private readonly slotLane: (Lane | null)[] = new Array<Lane | null>(1 << LANE_SLOT_BITS).fill(null);

  get nowUs(): number {
    return this.nowUsValue;
  }

  /** Events fired since the scheduler was created. */
  get eventsFired(): number {
    return this.firedTotal;
  }

  get pendingCount(): number {
    return this.heap.length + this.laneEvents;
  }

  /** Virtual time of the next event, or `Infinity` when nothing is pending. */
  peekTimeUs(): number {
    const next = this.earliest();
    return next === undefined ? Infinity : next.atUs;
  }

  /**
   * Schedule `event` at absolute time `atUs`. A pending event is moved (re-armed) and gets a
   * fresh tie-breaker, exactly as if it had been cancelled and scheduled anew.
   */
  schedule(event: SimEvent<any>, atUs: number): void {
    assertTime(atUs, this.nowUsValue);
    const lane = this.laneFor(atUs - this.nowUsValue);
    if (event.heapIndex >= 0 && (event.lane !== null || lane !== null)) this.cancel(event);
    event.atUs = atUs;
    event.seq = this.nextSeq++;
    if (lane !== null) {
      lane.append(event);
      this.laneEvents++;
      return;
    }
    const heap = this.heap;
    if (event.heapIndex < 0) {
      event.heapIndex = heap.length;
      heap.push(event);
      this.siftUp(event.heapIndex);
    } else {
      // Re-arming within the heap: the new key may be earlier or later than the old one.
      this.siftUp(event.heapIndex);
      this.siftDown(event.heapIndex);
    }
  }

  /** Schedule `event` `delayUs` from now. */
  scheduleIn(event: SimEvent<any>, delayUs: number): void {
    this.schedule(event, this.nowUsValue + delayUs);
  }

  /** Remove a pending event; a no-op for one that is not pending. */
  cancel(event: SimEvent<any>): void {
    const index = event.heapIndex;
    if (index < 0) return;
    if (event.lane !== null) {
      event.lane.remove(event);
      this.laneEvents--;
      return;
    }
    const heap = this.heap;
    const last = heap.pop()!;
    event.heapIndex = -1;
    if (last !== event) {
      heap[index] = last;
      last.heapIndex = index;
      this.siftUp(index);
      this.siftDown(last.heapIndex);
    }
  }

  /**
   * Move the clock forward to `atUs` when nothing is pending before it, so a script can wait
   * through a quiet stretch (a scripted peer's next packet, a sleep with no timer armed). It
   * fires nothing; an event due before `atUs` is a caller's error.
   */
  advanceTo(atUs: number): void {
    if (!Number.isSafeInteger(atUs)) throw new Error(`advanceTo needs an integer time in µs, got ${atUs}`);
    if (atUs <= this.nowUsValue) return;
    const next = this.earliest();
    if (next !== undefined && next.atUs < atUs) throw new Error(`advanceTo(${atUs}) would skip an event due at ${next.atUs}`);
    this.nowUsValue = atUs;
  }

  /** Ask a running `run` to return after the current event. */
  requestStop(): void {
    this.stopRequested = true;
  }

  /** Fire the next event, if any. Returns false when the queue is empty. */
  step(): boolean {
    const event = this.earliest();
    if (event === undefined) return false;
    this.fire(event);
    return true;
  }

  /** Fire events until the queue is empty or a budget is spent. */
  run(limits: RunLimits): RunEnd {
    this.stopRequested = false;
    let fired = 0;
    for (;;) {
      if (this.stopRequested) return { stoppedBy: 'stop-requested', events: fired, endUs: this.nowUsValue };
      const next = this.earliest();
      if (next === undefined) return { stoppedBy: 'idle', events: fired, endUs: this.nowUsValue };
      if (next.atUs > limits.maxTimeUs) {
        this.nowUsValue = Math.max(this.nowUsValue, limits.maxTimeUs);
        return { stoppedBy: 'time-budget', events: fired, endUs: this.nowUsValue };
      }
      if (fired >= limits.maxEvents) return { stoppedBy: 'event-budget', events: fired, endUs: this.nowUsValue };
      this.fire(next);
      fired++;
    }
  }

  /** The next event to fire: the earlier of the heap's top and the lanes' heads. */
  private earliest(): SimEvent<any> | undefined {
    let best: SimEvent<any> | undefined = this.heap[0];
    const lanes = this.lanes;
    for (let i = 0; i < lanes.length; i++) {
      const first = lanes[i]!.first();
      if (first !== undefined && (best === undefined || earlier(first, best))) best = first;
    }
    return best;
  }

  /** Take `next` (from `earliest`) off its queue and fire it. */
  private fire(next: SimEvent<any>): void {
    if (next.lane !== null) {
      next.lane.remove(next);
      this.laneEvents--;
    } else {
      this.popHead();
    }
    this.nowUsValue = next.atUs;
    this.firedTotal++;
    next.handler.onEvent(next, next.atUs);
  }

  /**
   * The lane for events `delayUs` from now, or null for the heap. Each delay is counted in a
   * slot of a small table; one that comes up `LANE_AFTER` times in a row there gets a lane
   * (while fewer than `MAX_LANES` are in use). A lane gives its slot up only once empty. Where
   * an event goes changes no order, only the cost.
   */
  private laneFor(delayUs: number): Lane | null {
    const slot = Math.imul(delayUs | 0, 0x9e3779b1) >>> (32 - LANE_SLOT_BITS);
    if (this.slotDelayUs[slot] === delayUs) {
      const lane = this.slotLane[slot]!;
      if (lane !== null) return lane;
      if (++this.slotCount[slot]! < LANE_AFTER || this.lanes.length >= MAX_LANES) return null;
      const created = new Lane(delayUs);
      this.lanes.push(created);
      this.slotLane[slot] = created;
      return created;
    }
    const occupant = this.slotLane[slot]!;
    if (occupant !== null) {
      if (occupant.size > 0) return null;
      this.lanes.splice(this.lanes.indexOf(occupant), 1);
      this.slotLane[slot] = null;
    }
    this.slotDelayUs[slot] = delayUs;
    this.slotCount[slot] = 1;
    return null;
  }

  private popHead(): SimEvent<any> | undefined {
    const heap = this.heap;
    const head = heap[0];
    if (head === undefined) return undefined;
    const last = heap.pop()!;
    head.heapIndex = -1;
    if (last !== head) {
      heap[0] = last;
      last.heapIndex = 0;
      this.siftDown(0);
    }
    return head;
  }

  private siftUp(start: number): void {
    const heap = this.heap;
    const item = heap[start]!;
    let index = start;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (!earlier(item, parent)) break;
      heap[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    heap[index] = item;
    item.heapIndex = index;
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    const length = heap.length;
    const item = heap[start]!;
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      let childItem = heap[left]!;
      if (right < length) {
        const rightItem = heap[right]!;
        if (earlier(rightItem, childItem)) {
          child = right;
          childItem = rightItem;
        }
      }
      if (!earlier(childItem, item)) break;
      heap[index] = childItem;
      childItem.heapIndex = index;
      index = child;
    }
    heap[index] = item;
    item.heapIndex = index;
  }
}

function earlier(a: SimEvent<any>, b: SimEvent<any>): boolean {
  return a.atUs < b.atUs || (a.atUs === b.atUs && a.seq < b.seq);
}

function assertTime(atUs: number, nowUs: number): void {
  if (!Number.isSafeInteger(atUs)) throw new Error(`event time must be a safe integer of microseconds, got ${atUs}`);
  if (atUs < nowUs) throw new Error(`cannot schedule in the past: at ${atUs} µs, now ${nowUs} µs`);
}
