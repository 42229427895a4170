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
  /** Slot in the heap, or -1 when not scheduled. */
  heapIndex = -1;

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

export class Scheduler {
  private nowUsValue = 0;
  private readonly heap: SimEvent<any>[] = [];
  private nextSeq = 0;
  private firedTotal = 0;
  private stopRequested = false;

  get nowUs(): number {
    return this.nowUsValue;
  }

  /** Events fired since the scheduler was created. */
  get eventsFired(): number {
    return this.firedTotal;
  }

  get pendingCount(): number {
    return this.heap.length;
  }

  /** Virtual time of the next event, or `Infinity` when nothing is pending. */
  peekTimeUs(): number {
    const head = this.heap[0];
    return head === undefined ? Infinity : head.atUs;
  }

  /**
   * Schedule `event` at absolute time `atUs`. A pending event is moved (re-armed) in place and
   * gets a fresh tie-breaker, exactly as if it had been cancelled and scheduled anew.
   */
  schedule(event: SimEvent<any>, atUs: number): void {
    assertTime(atUs, this.nowUsValue);
    event.atUs = atUs;
    event.seq = this.nextSeq++;
    const heap = this.heap;
    if (event.heapIndex < 0) {
      event.heapIndex = heap.length;
      heap.push(event);
      this.siftUp(event.heapIndex);
    } else {
      // Re-arming: the new key may be earlier or later than the old one.
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

  /** Ask a running `run` to return after the current event. */
  requestStop(): void {
    this.stopRequested = true;
  }

  /** Fire the next event, if any. Returns false when the queue is empty. */
  step(): boolean {
    const event = this.popHead();
    if (event === undefined) return false;
    this.nowUsValue = event.atUs;
    this.firedTotal++;
    event.handler.onEvent(event, event.atUs);
    return true;
  }

  /** Fire events until the queue is empty or a budget is spent. */
  run(limits: RunLimits): RunEnd {
    this.stopRequested = false;
    let fired = 0;
    const heap = this.heap;
    for (;;) {
      if (this.stopRequested) return { stoppedBy: 'stop-requested', events: fired, endUs: this.nowUsValue };
      const head = heap[0];
      if (head === undefined) return { stoppedBy: 'idle', events: fired, endUs: this.nowUsValue };
      if (head.atUs > limits.maxTimeUs) {
        this.nowUsValue = Math.max(this.nowUsValue, limits.maxTimeUs);
        return { stoppedBy: 'time-budget', events: fired, endUs: this.nowUsValue };
      }
      if (fired >= limits.maxEvents) return { stoppedBy: 'event-budget', events: fired, endUs: this.nowUsValue };
      this.step();
      fired++;
    }
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
