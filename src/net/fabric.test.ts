/**
 * Unit tests for the fabric with a tiny test datagram and a fake receiver: no TCP involved.
 * Rates are checked over 10^5 draws of a fixed seed, so the tolerances below are deterministic
 * (each is about five standard deviations of the estimate, stated next to it).
 */
import { describe, expect, it } from 'vitest';
import { Scheduler, SimEvent, type EventHandler } from '../sim/scheduler.js';
import { hostIp } from './address.js';
import { Fabric, type Datagram, type DelayReason, type DropReason, type FabricObserver } from './fabric.js';
import { linkFaults, type LinkFaults } from './faults.js';

const A = hostIp(0);
const B = hostIp(1);
const C = hostIp(2);
const NOWHERE = hostIp(99);

const DRAWS = 100_000;

/** The smallest thing a fabric can carry: an id, addresses, and a label to follow copies by. */
interface TestDatagram extends Datagram {
  readonly label: string;
}

type Fate =
  | { readonly fate: 'sent'; readonly id: number; readonly label: string; readonly atUs: number }
  | { readonly fate: 'delivered'; readonly id: number; readonly label: string; readonly atUs: number }
  | { readonly fate: 'dropped'; readonly id: number; readonly label: string; readonly atUs: number; readonly reason: DropReason }
  | { readonly fate: 'duplicated'; readonly id: number; readonly label: string; readonly atUs: number; readonly copyId: number; readonly why: 'duplicate' | 'old-duplicate' }
  | { readonly fate: 'delayed'; readonly id: number; readonly label: string; readonly atUs: number; readonly extraUs: number; readonly why: DelayReason };

/** Keeps every fate the fabric reports, in order. */
class FateLog implements FabricObserver<TestDatagram> {
  readonly fates: Fate[] = [];
  sent(d: TestDatagram, nowUs: number): void {
    this.fates.push({ fate: 'sent', id: d.id, label: d.label, atUs: nowUs });
  }
  delivered(d: TestDatagram, nowUs: number): void {
    this.fates.push({ fate: 'delivered', id: d.id, label: d.label, atUs: nowUs });
  }
  dropped(d: TestDatagram, nowUs: number, reason: DropReason): void {
    this.fates.push({ fate: 'dropped', id: d.id, label: d.label, atUs: nowUs, reason });
  }
  duplicated(d: TestDatagram, copy: TestDatagram, nowUs: number, why: 'duplicate' | 'old-duplicate'): void {
    this.fates.push({ fate: 'duplicated', id: d.id, label: d.label, atUs: nowUs, copyId: copy.id, why });
  }
  delayed(d: TestDatagram, nowUs: number, extraUs: number, why: DelayReason): void {
    this.fates.push({ fate: 'delayed', id: d.id, label: d.label, atUs: nowUs, extraUs, why });
  }

  count(predicate: (fate: Fate) => boolean): number {
    let n = 0;
    for (const fate of this.fates) if (predicate(fate)) n++;
    return n;
  }
}

/** A fake host: remembers what arrived and when. */
class FakeReceiver {
  readonly got: { id: number; label: string; atUs: number; sentAtUs: number }[] = [];
  receive(d: TestDatagram, nowUs: number): void {
    this.got.push({ id: d.id, label: d.label, atUs: nowUs, sentAtUs: d.sentAtUs });
  }
}

interface Harness {
  readonly scheduler: Scheduler;
  readonly fabric: Fabric<TestDatagram>;
  readonly log: FateLog;
  readonly receivers: ReadonlyMap<number, FakeReceiver>;
  /** Send one datagram src -> dst at virtual time `atUs` (scheduled, so the clock is right). */
  sendAt(atUs: number, srcIp: number, dstIp: number, label?: string): void;
  /** Send `count` datagrams src -> dst now, labelled `${prefix}${i}`. */
  sendMany(count: number, srcIp: number, dstIp: number, prefix?: string): void;
  run(): void;
}

function harness(options: { seed?: number; mslUs?: number; enforceMsl?: boolean; faultsEndUs?: number; hosts?: readonly number[]; defaultFaults?: LinkFaults } = {}): Harness {
  const scheduler = new Scheduler();
  let ids = 0;
  const fabric = new Fabric<TestDatagram>(scheduler, {
    rootSeed: options.seed ?? 1234,
    mslUs: options.mslUs ?? 30_000_000,
    enforceMsl: options.enforceMsl ?? true,
    ...(options.faultsEndUs !== undefined ? { faultsEndUs: options.faultsEndUs } : {}),
    ...(options.defaultFaults !== undefined ? { defaultFaults: options.defaultFaults } : {}),
    // Copies get a fresh id and keep the label (primed) and the original's send time.
    clone: (d) => ({ ...d, id: ++ids, label: `${d.label}'` }),
  });
  const log = new FateLog();
  fabric.observer = log;
  const receivers = new Map<number, FakeReceiver>();
  for (const ip of options.hosts ?? [A, B]) {
    const receiver = new FakeReceiver();
    receivers.set(ip, receiver);
    fabric.attach(ip, receiver);
  }
  const make = (srcIp: number, dstIp: number, label: string): TestDatagram => ({ id: ++ids, srcIp, dstIp, sentAtUs: -1, label });
  const sender: EventHandler<() => void> = { onEvent: (event) => event.payload() };
  return {
    scheduler,
    fabric,
    log,
    receivers,
    sendAt(atUs, srcIp, dstIp, label = `t${atUs}`) {
      scheduler.schedule(new SimEvent(sender, 0, () => fabric.send(make(srcIp, dstIp, label))), atUs);
    },
    sendMany(count, srcIp, dstIp, prefix = 'd') {
      for (let i = 0; i < count; i++) fabric.send(make(srcIp, dstIp, `${prefix}${i}`));
    },
    run() {
      const end = scheduler.run({ maxEvents: 10_000_000, maxTimeUs: Number.MAX_SAFE_INTEGER });
      expect(end.stoppedBy).toBe('idle');
    },
  };
}

function receiverOf(h: Harness, ip: number): FakeReceiver {
  return h.receivers.get(ip)!;
}

describe('clean link', () => {
  it('delivers every datagram once, after delayUs, in send order', () => {
    // Arrange
    const h = harness();
    h.fabric.configureLink(A, B, linkFaults({ delayUs: 250 }));
    // Act
    h.sendAt(0, A, B, 'x');
    h.sendAt(10, A, B, 'y');
    h.sendAt(10, A, B, 'z');
    h.run();
    // Assert
    expect(receiverOf(h, B).got.map((g) => [g.label, g.atUs, g.sentAtUs])).toEqual([
      ['x', 250, 0],
      ['y', 260, 10],
      ['z', 260, 10],
    ]);
    expect(receiverOf(h, A).got).toEqual([]);
  });

  it('jitter adds a delay uniform in [0, jitterUs]', () => {
    // Arrange
    const h = harness();
    h.fabric.configureLink(A, B, linkFaults({ delayUs: 100, jitterUs: 9 }));
    // Act
    h.sendMany(10_000, A, B);
    h.run();
    // Assert: 10 values, ~1000 each (sd ≈ 30).
    const extras = new Map<number, number>();
    for (const g of receiverOf(h, B).got) extras.set(g.atUs - 100, (extras.get(g.atUs - 100) ?? 0) + 1);
    expect([...extras.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const n of extras.values()) expect(Math.abs(n - 1000)).toBeLessThan(150);
  });
});

describe('fault rates over 10^5 draws (fixed seed)', () => {
  it('loss: the drop rate is lossRate ± 0.005', () => {
    // Arrange
    const h = harness();
    h.fabric.configureLink(A, B, linkFaults({ lossRate: 0.1 }));
    // Act
    h.sendMany(DRAWS, A, B);
    h.run();
    // Assert: sd = sqrt(0.1·0.9/10^5) ≈ 0.00095.
    const lost = h.log.count((f) => f.fate === 'dropped' && f.reason === 'loss');
    expect(Math.abs(lost / DRAWS - 0.1)).toBeLessThan(0.005);
    expect(receiverOf(h, B).got.length).toBe(DRAWS - lost);
  });

  it('duplication: the copy rate is duplicateRate ± 0.006, and each copy is delivered too', () => {
    // Arrange
    const h = harness();
    h.fabric.configureLink(A, B, linkFaults({ duplicateRate: 0.2 }));
    // Act
    h.sendMany(DRAWS, A, B);
    h.run();
    // Assert: sd = sqrt(0.2·0.8/10^5) ≈ 0.0013.
    const copies = h.log.count((f) => f.fate === 'duplicated' && f.why === 'duplicate');
    expect(Math.abs(copies / DRAWS - 0.2)).toBeLessThan(0.006);
    expect(receiverOf(h, B).got.length).toBe(DRAWS + copies);
    // A copy keeps its original's send time, so MSL counts from the first send.
    expect(receiverOf(h, B).got.every((g) => g.sentAtUs === 0)).toBe(true);
  });

  it('reordering: the rate is reorderRate ± 0.007, extra delay within [0, reorderDelayUsMax], and order actually changes', () => {
    // Arrange: one datagram per microsecond, so an extra delay overtakes later sends.
    const h = harness();
    h.fabric.configureLink(A, B, linkFaults({ delayUs: 100, reorderRate: 0.3, reorderDelayUsMax: 50 }));
    // Act
    for (let i = 0; i < DRAWS; i++) h.sendAt(i, A, B, `${i}`);
    h.run();
    // Assert: sd = sqrt(0.3·0.7/10^5) ≈ 0.0014.
    const reordered = h.log.fates.filter((f) => f.fate === 'delayed' && f.why === 'reorder');
    expect(Math.abs(reordered.length / DRAWS - 0.3)).toBeLessThan(0.007);
    expect(reordered.every((f) => f.fate === 'delayed' && f.extraUs >= 0 && f.extraUs <= 50)).toBe(true);
    expect(new Set(reordered.map((f) => (f.fate === 'delayed' ? f.extraUs : -1))).size).toBe(51);
    const got = receiverOf(h, B).got;
    expect(got.length).toBe(DRAWS);
    let inversions = 0;
    for (let i = 1; i < got.length; i++) if (Number(got[i]!.label) < Number(got[i - 1]!.label)) inversions++;
    expect(inversions).toBeGreaterThan(DRAWS / 10);
  });

  it('old duplicates: the rate is oldDuplicateRate ± 0.003; a copy arrives delayUs plus [0, oldDuplicateDelayUsMax] after the send', () => {
    // Arrange
    const h = harness();
    h.fabric.configureLink(A, B, linkFaults({ delayUs: 100, oldDuplicateRate: 0.05, oldDuplicateDelayUsMax: 5_000 }));
    // Act
    h.sendMany(DRAWS, A, B);
    h.run();
    // Assert: sd = sqrt(0.05·0.95/10^5) ≈ 0.0007.
    const copies = h.log.count((f) => f.fate === 'duplicated' && f.why === 'old-duplicate');
    expect(Math.abs(copies / DRAWS - 0.05)).toBeLessThan(0.003);
    const late = receiverOf(h, B).got.filter((g) => g.label.endsWith("'"));
    expect(late.length).toBe(copies);
    expect(late.every((g) => g.atUs >= 100 && g.atUs <= 5_100)).toBe(true);
    const holds = h.log.fates.filter((f) => f.fate === 'delayed' && f.why === 'old-duplicate');
    expect(holds.length).toBe(copies);
  });

  it('old duplicates: the hold is drawn from [0, oldDuplicateDelayUsMax], both ends included', () => {
    // Arrange
    const h = harness();
    h.fabric.configureLink(A, B, linkFaults({ delayUs: 100, oldDuplicateRate: 1, oldDuplicateDelayUsMax: 3 }));
    // Act
    h.sendMany(1_000, A, B);
    h.run();
    // Assert
    const helds = h.log.fates.flatMap((f) => (f.fate === 'delayed' && f.why === 'old-duplicate' ? [f.extraUs] : []));
    expect(helds.length).toBe(1_000);
    expect([...new Set(helds)].sort()).toEqual([0, 1, 2, 3]);
  });

  it('burst loss: the long-run rate is πbad·lossRateBad + πgood·lossRate ± 0.01, split by reason', () => {
    // Arrange: πbad = enter / (enter + leave) = 0.02 / 0.22 ≈ 0.0909.
    const burst = { enterBadRate: 0.02, leaveBadRate: 0.2, lossRateBad: 0.6 };
    const lossRate = 0.01;
    const piBad = burst.enterBadRate / (burst.enterBadRate + burst.leaveBadRate);
    const piGood = 1 - piBad;
    const h = harness();
    h.fabric.configureLink(A, B, linkFaults({ lossRate, burst }));
    // Act
    h.sendMany(DRAWS, A, B);
    h.run();
    // Assert: the chain's states are correlated (λ = 0.78), which inflates the variance about
    // eightfold: sd ≈ 0.0017, so ± 0.01 is about six of them.
    const burstLost = h.log.count((f) => f.fate === 'dropped' && f.reason === 'burst-loss');
    const goodLost = h.log.count((f) => f.fate === 'dropped' && f.reason === 'loss');
    expect(Math.abs((burstLost + goodLost) / DRAWS - (piBad * burst.lossRateBad + piGood * lossRate))).toBeLessThan(0.01);
    expect(Math.abs(burstLost / DRAWS - piBad * burst.lossRateBad)).toBeLessThan(0.01);
    expect(Math.abs(goodLost / DRAWS - piGood * lossRate)).toBeLessThan(0.002);
  });

  it('burst loss comes in bursts: a loss is far likelier right after a loss than on average', () => {
    // Arrange
    const h = harness();
    h.fabric.configureLink(A, B, linkFaults({ burst: { enterBadRate: 0.02, leaveBadRate: 0.2, lossRateBad: 0.6 } }));
    // Act
    h.sendMany(DRAWS, A, B);
    h.run();
    // Assert: with independent loss P(loss | previous lost) equals P(loss) ≈ 0.055; here the
    // previous loss says we are probably in the bad state, so it is near 0.8·0.6 ≈ 0.5.
    const lostLabels = new Set(h.log.fates.filter((f) => f.fate === 'dropped').map((f) => f.label));
    let afterLoss = 0;
    let lostAfterLoss = 0;
    for (let i = 1; i < DRAWS; i++) {
      if (!lostLabels.has(`d${i - 1}`)) continue;
      afterLoss++;
      if (lostLabels.has(`d${i}`)) lostAfterLoss++;
    }
    expect(lostAfterLoss / afterLoss).toBeGreaterThan(0.3);
    expect(lostLabels.size / DRAWS).toBeLessThan(0.1);
  });

  it('all random faults at once keep their rates, each over the datagrams it applies to', () => {
    // Arrange
    const h = harness();
    h.fabric.configureLink(A, B, linkFaults({ lossRate: 0.1, duplicateRate: 0.2, reorderRate: 0.3, reorderDelayUsMax: 100 }));
    // Act
    h.sendMany(DRAWS, A, B);
    h.run();
    // Assert: loss applies to originals, duplication to survivors, reordering to survivors and copies.
    const lost = h.log.count((f) => f.fate === 'dropped' && f.reason === 'loss');
    const copies = h.log.count((f) => f.fate === 'duplicated');
    const reordered = h.log.count((f) => f.fate === 'delayed' && f.why === 'reorder');
    const survivors = DRAWS - lost;
    expect(Math.abs(lost / DRAWS - 0.1)).toBeLessThan(0.005);
    expect(Math.abs(copies / survivors - 0.2)).toBeLessThan(0.007);
    expect(Math.abs(reordered / (survivors + copies) - 0.3)).toBeLessThan(0.007);
  });
});

describe('partitions', () => {
  const WINDOW = { fromUs: 1_000, toUs: 2_000 };

  it('a datagram sent at fromUs-1 passes, at fromUs and toUs-1 is dropped, at toUs passes', () => {
    // Arrange: no delay, so send time and arrival time are the same and only the send edge matters.
    const h = harness();
    h.fabric.configureLink(A, B, linkFaults({ delayUs: 0, partitions: [WINDOW] }));
    // Act
    for (const atUs of [999, 1_000, 1_999, 2_000]) h.sendAt(atUs, A, B);
    h.run();
    // Assert
    expect(receiverOf(h, B).got.map((g) => g.label)).toEqual(['t999', 't2000']);
    const dropped = h.log.fates.filter((f) => f.fate === 'dropped');
    expect(dropped).toEqual([
      { fate: 'dropped', id: 2, label: 't1000', atUs: 1_000, reason: 'partition' },
      { fate: 'dropped', id: 3, label: 't1999', atUs: 1_999, reason: 'partition' },
    ]);
  });

  it('a datagram due to arrive inside the window is dropped on arrival, exactly at its edges', () => {
    // Arrange: delay 1500 and a window [2000, 3000), so every send below is before the window
    // and only the arrival time decides: 499 / 500 / 1499 / 1500 arrive at 1999 / 2000 / 2999 / 3000.
    const h = harness();
    h.fabric.configureLink(A, B, linkFaults({ delayUs: 1_500, partitions: [{ fromUs: 2_000, toUs: 3_000 }] }));
    // Act
    for (const atUs of [499, 500, 1_499, 1_500]) h.sendAt(atUs, A, B);
    h.run();
    // Assert
    expect(receiverOf(h, B).got.map((g) => [g.label, g.atUs])).toEqual([
      ['t499', 1_999],
      ['t1500', 3_000],
    ]);
    const dropped = h.log.fates.filter((f) => f.fate === 'dropped').map((f) => [f.label, f.atUs, f.fate === 'dropped' ? f.reason : '']);
    expect(dropped).toEqual([
      ['t500', 2_000, 'partition'],
      ['t1499', 2_999, 'partition'],
    ]);
  });

  it('a datagram sent before the window and arriving after it passes (it flew over the cut)', () => {
    // Arrange
    const h = harness();
    h.fabric.configureLink(A, B, linkFaults({ delayUs: 1_200, partitions: [WINDOW] }));
    // Act
    h.sendAt(900, A, B);
    h.run();
    // Assert
    expect(receiverOf(h, B).got.map((g) => [g.label, g.atUs])).toEqual([['t900', 2_100]]);
  });

  it('a one-way partition cuts only its direction', () => {
    // Arrange
    const h = harness();
    h.fabric.configureLink(A, B, linkFaults({ delayUs: 10, partitions: [WINDOW] }));
    h.fabric.configureLink(B, A, linkFaults({ delayUs: 10 }));
    // Act
    h.sendAt(1_500, A, B, 'ab');
    h.sendAt(1_500, B, A, 'ba');
    h.run();
    // Assert
    expect(receiverOf(h, B).got).toEqual([]);
    expect(receiverOf(h, A).got.map((g) => [g.label, g.atUs])).toEqual([['ba', 1_510]]);
  });

  it('several windows each cut, and the gap between them passes', () => {
    // Arrange
    const h = harness();
    h.fabric.configureLink(A, B, linkFaults({ delayUs: 0, partitions: [WINDOW, { fromUs: 3_000, toUs: 4_000 }] }));
    // Act
    for (const atUs of [1_500, 2_500, 3_500, 4_500]) h.sendAt(atUs, A, B);
    h.run();
    // Assert
    expect(receiverOf(h, B).got.map((g) => g.label)).toEqual(['t2500', 't4500']);
  });
});

describe('holds', () => {
  const HOLD = { fromUs: 1_000, toUs: 2_000 };

  it('datagrams sent inside a hold are released together at toUs, in send order', () => {
    // Arrange
    const h = harness();
    h.fabric.configureLink(A, B, linkFaults({ delayUs: 100, holds: [HOLD] }));
    // Act
    for (const atUs of [999, 1_000, 1_500, 1_999, 2_000]) h.sendAt(atUs, A, B);
    h.run();
    // Assert
    expect(receiverOf(h, B).got.map((g) => [g.label, g.atUs])).toEqual([
      ['t999', 1_099],
      ['t1000', 2_100],
      ['t1500', 2_100],
      ['t1999', 2_100],
      ['t2000', 2_100],
    ]);
    const delays = h.log.fates.filter((f) => f.fate === 'delayed').map((f) => [f.label, f.fate === 'delayed' ? f.extraUs : -1, f.fate === 'delayed' ? f.why : '']);
    expect(delays).toEqual([
      ['t1000', 1_000, 'hold'],
      ['t1500', 500, 'hold'],
      ['t1999', 1, 'hold'],
    ]);
  });

  it('a hold applies to its direction only', () => {
    // Arrange
    const h = harness();
    h.fabric.configureLink(A, B, linkFaults({ delayUs: 100, holds: [HOLD] }));
    h.fabric.configureLink(B, A, linkFaults({ delayUs: 100 }));
    // Act
    h.sendAt(1_500, B, A, 'ba');
    h.run();
    // Assert
    expect(receiverOf(h, A).got.map((g) => [g.label, g.atUs])).toEqual([['ba', 1_600]]);
  });
});

describe('MSL bound', () => {
  const MSL_US = 10_000;

  it('a datagram whose age on arrival is exactly mslUs is delivered', () => {
    // Arrange
    const h = harness({ mslUs: MSL_US });
    h.fabric.configureLink(A, B, linkFaults({ delayUs: MSL_US }));
    // Act
    h.sendAt(5, A, B);
    h.run();
    // Assert
    expect(receiverOf(h, B).got.map((g) => [g.label, g.atUs])).toEqual([['t5', 5 + MSL_US]]);
  });

  it("a datagram whose age on arrival is mslUs + 1 is dropped 'msl-expired'", () => {
    // Arrange
    const h = harness({ mslUs: MSL_US });
    h.fabric.configureLink(A, B, linkFaults({ delayUs: MSL_US + 1 }));
    // Act
    h.sendAt(5, A, B);
    h.run();
    // Assert
    expect(receiverOf(h, B).got).toEqual([]);
    expect(h.log.fates.filter((f) => f.fate !== 'sent')).toEqual([{ fate: 'dropped', id: 1, label: 't5', atUs: 5 + MSL_US + 1, reason: 'msl-expired' }]);
  });

  it('with enforceMsl false the same datagram is delivered', () => {
    // Arrange
    const h = harness({ mslUs: MSL_US, enforceMsl: false });
    h.fabric.configureLink(A, B, linkFaults({ delayUs: MSL_US + 1 }));
    // Act
    h.sendAt(5, A, B);
    h.run();
    // Assert
    expect(receiverOf(h, B).got.map((g) => [g.label, g.atUs])).toEqual([['t5', 5 + MSL_US + 1]]);
  });

  it('a hold longer than MSL expires what it held', () => {
    // Arrange
    const h = harness({ mslUs: MSL_US });
    h.fabric.configureLink(A, B, linkFaults({ delayUs: 0, holds: [{ fromUs: 0, toUs: MSL_US + 1 }] }));
    // Act
    h.sendAt(0, A, B, 'old');
    h.sendAt(1, A, B, 'young');
    h.run();
    // Assert
    expect(receiverOf(h, B).got.map((g) => g.label)).toEqual(['young']);
    expect(h.log.fates.filter((f) => f.fate === 'dropped').map((f) => (f.fate === 'dropped' ? [f.label, f.reason] : []))).toEqual([['old', 'msl-expired']]);
  });

  it('old duplicates held past MSL are dropped when enforced and delivered late when not', () => {
    // Arrange: every datagram makes an old duplicate held up to 4·MSL.
    const faults = linkFaults({ delayUs: 100, oldDuplicateRate: 1, oldDuplicateDelayUsMax: 4 * MSL_US });
    const enforced = harness({ mslUs: MSL_US });
    const loose = harness({ mslUs: MSL_US, enforceMsl: false });
    enforced.fabric.configureLink(A, B, faults);
    loose.fabric.configureLink(A, B, faults);
    // Act
    enforced.sendMany(1_000, A, B);
    loose.sendMany(1_000, A, B);
    enforced.run();
    loose.run();
    // Assert: same seed, same draws; the switch only decides the fate of the ones past MSL.
    const expiredCount = enforced.log.count((f) => f.fate === 'dropped' && f.reason === 'msl-expired');
    expect(expiredCount).toBeGreaterThan(600);
    expect(enforced.receivers.get(B)!.got.every((g) => g.atUs - g.sentAtUs <= MSL_US)).toBe(true);
    expect(loose.receivers.get(B)!.got.length).toBe(2_000);
    expect(loose.receivers.get(B)!.got.filter((g) => g.atUs - g.sentAtUs > MSL_US).length).toBe(expiredCount);
  });
});

describe('routing', () => {
  it("a datagram to an unattached address is dropped 'no-route' at once", () => {
    // Arrange
    const h = harness();
    // Act
    h.sendAt(7, A, NOWHERE);
    h.run();
    // Assert
    expect(h.log.fates.map((f) => f.fate)).toEqual(['sent', 'dropped']);
    expect(h.log.fates[1]).toMatchObject({ atUs: 7, reason: 'no-route' });
  });

  it("a datagram whose receiver detached in flight is dropped 'no-route' on arrival", () => {
    // Arrange
    const h = harness();
    h.sendAt(0, A, B);
    h.scheduler.schedule(new SimEvent({ onEvent: () => h.fabric.detach(B) }, 0, null), 500);
    // Act
    h.run();
    // Assert
    expect(receiverOf(h, B).got).toEqual([]);
    expect(h.log.fates.at(-1)).toMatchObject({ fate: 'dropped', atUs: 1_000, reason: 'no-route' });
  });

  it('attaching the same address twice throws', () => {
    // Arrange
    const h = harness();
    // Act + Assert
    expect(() => h.fabric.attach(A, new FakeReceiver())).toThrow(/already attached/);
  });
});

describe('stream isolation', () => {
  const NOISY: LinkFaults = linkFaults({ delayUs: 100, jitterUs: 50, lossRate: 0.2, duplicateRate: 0.1, reorderRate: 0.2, reorderDelayUsMax: 300, oldDuplicateRate: 0.05, oldDuplicateDelayUsMax: 2_000 });

  /** What happened to A -> B traffic, by label (ids differ when other traffic shares the id counter). */
  function abFates(h: Harness): string[] {
    const ab = new Set<string>();
    for (let i = 0; i < 2_000; i++) ab.add(`ab${i}`);
    return h.log.fates
      .filter((f) => ab.has(f.label.replace(/'+$/, '')))
      .map((f) => `${f.atUs} ${f.fate} ${f.label} ${f.fate === 'dropped' ? f.reason : f.fate === 'delayed' ? `${f.why} ${f.extraUs}` : f.fate === 'duplicated' ? f.why : ''}`);
  }

  it("adding a host and a busy link does not change another link's draws", () => {
    // Arrange
    const alone = harness({ hosts: [A, B] });
    const crowded = harness({ hosts: [C, A, B] });
    alone.fabric.configureLink(A, B, NOISY);
    crowded.fabric.configureLink(C, A, NOISY);
    crowded.fabric.configureLink(A, C, NOISY);
    crowded.fabric.configureLink(A, B, NOISY);
    // Act: the crowded world interleaves other traffic with the same A -> B sends.
    for (let i = 0; i < 2_000; i++) {
      if (i % 3 === 0) crowded.sendAt(i * 10, C, A, `ca${i}`);
      crowded.sendAt(i * 10, A, C, `ac${i}`);
      crowded.sendAt(i * 10, A, B, `ab${i}`);
      alone.sendAt(i * 10, A, B, `ab${i}`);
    }
    alone.run();
    crowded.run();
    // Assert
    const fates = abFates(alone);
    expect(fates.length).toBeGreaterThan(4_000);
    expect(abFates(crowded)).toEqual(fates);
  });

  it('the two directions of a link draw from different streams', () => {
    // Arrange
    const h = harness();
    h.fabric.configureLink(A, B, linkFaults({ lossRate: 0.5 }));
    h.fabric.configureLink(B, A, linkFaults({ lossRate: 0.5 }));
    // Act
    h.sendMany(200, A, B, 'p');
    h.sendMany(200, B, A, 'p');
    h.run();
    // Assert
    const heard = (ip: number) => receiverOf(h, ip).got.map((g) => g.label);
    expect(heard(A)).not.toEqual(heard(B));
  });

  it('a different root seed gives different fates', () => {
    // Arrange
    const one = harness({ seed: 1 });
    const two = harness({ seed: 2 });
    one.fabric.configureLink(A, B, NOISY);
    two.fabric.configureLink(A, B, NOISY);
    // Act
    for (let i = 0; i < 2_000; i++) {
      one.sendAt(i * 10, A, B, `ab${i}`);
      two.sendAt(i * 10, A, B, `ab${i}`);
    }
    one.run();
    two.run();
    // Assert
    expect(abFates(one)).not.toEqual(abFates(two));
  });
});

describe('faultsEndUs', () => {
  const ALL_FAULTS = linkFaults({ delayUs: 100, lossRate: 0.5, duplicateRate: 0.5, reorderRate: 0.5, reorderDelayUsMax: 1_000, oldDuplicateRate: 0.5, oldDuplicateDelayUsMax: 1_000 });

  it('random faults stop for datagrams sent at or after faultsEndUs', () => {
    // Arrange
    const h = harness({ faultsEndUs: 50_000 });
    h.fabric.configureLink(A, B, ALL_FAULTS);
    // Act
    for (let i = 0; i < 1_000; i++) h.sendAt(i * 100, A, B, `${i}`);
    h.run();
    // Assert: before the end every kind of fault happened; after it, every datagram arrives
    // exactly once after exactly delayUs, in order.
    const before = h.log.fates.filter((f) => f.fate !== 'sent' && f.fate !== 'delivered' && f.atUs < 50_000);
    expect(new Set(before.map((f) => (f.fate === 'dropped' ? f.reason : f.fate === 'sent' || f.fate === 'delivered' ? '' : f.why)))).toEqual(
      new Set(['loss', 'duplicate', 'reorder', 'old-duplicate']),
    );
    const late = receiverOf(h, B).got.filter((g) => g.sentAtUs >= 50_000);
    expect(late.map((g) => g.label)).toEqual(Array.from({ length: 500 }, (_, i) => `${500 + i}`));
    expect(late.every((g) => g.atUs === g.sentAtUs + 100)).toBe(true);
  });

  it('the edge: sent at faultsEndUs-1 meets faults, at faultsEndUs does not', () => {
    // Arrange
    const h = harness({ faultsEndUs: 5_000 });
    h.fabric.configureLink(A, B, linkFaults({ lossRate: 1 }));
    // Act
    h.sendAt(4_999, A, B);
    h.sendAt(5_000, A, B);
    h.run();
    // Assert
    expect(receiverOf(h, B).got.map((g) => g.label)).toEqual(['t5000']);
    expect(h.log.fates.find((f) => f.fate === 'dropped')).toMatchObject({ label: 't4999', reason: 'loss' });
  });

  it('partitions and holds still apply after faultsEndUs (they are scheduled, not random)', () => {
    // Arrange
    const h = harness({ faultsEndUs: 0 });
    h.fabric.configureLink(A, B, linkFaults({ delayUs: 0, partitions: [{ fromUs: 100, toUs: 200 }], holds: [{ fromUs: 300, toUs: 400 }] }));
    // Act
    h.sendAt(150, A, B);
    h.sendAt(350, A, B);
    h.run();
    // Assert
    expect(receiverOf(h, B).got.map((g) => [g.label, g.atUs])).toEqual([['t350', 400]]);
  });
});

describe('observer', () => {
  it('every fate and every reason reaches the observer', () => {
    // Arrange: a link with every random fault, a burst chain, a partition, a hold, a short MSL,
    // and a destination that does not exist.
    const h = harness({ mslUs: 3_000 });
    h.fabric.configureLink(
      A,
      B,
      linkFaults({
        delayUs: 100,
        lossRate: 0.1,
        burst: { enterBadRate: 0.1, leaveBadRate: 0.3, lossRateBad: 0.5 },
        duplicateRate: 0.1,
        reorderRate: 0.1,
        reorderDelayUsMax: 500,
        oldDuplicateRate: 0.1,
        oldDuplicateDelayUsMax: 6_000,
        partitions: [{ fromUs: 20_000, toUs: 21_000 }],
        holds: [{ fromUs: 30_000, toUs: 31_000 }],
      }),
    );
    // Act
    for (let i = 0; i < 1_000; i++) h.sendAt(i * 50, A, B, `${i}`);
    h.sendAt(0, A, NOWHERE, 'lost-in-space');
    h.run();
    // Assert
    const kinds = new Set(h.log.fates.map((f) => (f.fate === 'dropped' ? `dropped:${f.reason}` : f.fate === 'delayed' || f.fate === 'duplicated' ? `${f.fate}:${f.why}` : f.fate)));
    expect([...kinds].sort()).toEqual(
      [
        'sent',
        'delivered',
        'dropped:loss',
        'dropped:burst-loss',
        'dropped:partition',
        'dropped:msl-expired',
        'dropped:no-route',
        'duplicated:duplicate',
        'duplicated:old-duplicate',
        'delayed:reorder',
        'delayed:hold',
        'delayed:old-duplicate',
      ].sort(),
    );
  });

  it('every datagram, original or copy, ends exactly once: delivered or dropped', () => {
    // Arrange
    const h = harness({ mslUs: 2_000 });
    h.fabric.configureLink(A, B, linkFaults({ delayUs: 100, jitterUs: 100, lossRate: 0.1, duplicateRate: 0.2, reorderRate: 0.2, reorderDelayUsMax: 500, oldDuplicateRate: 0.1, oldDuplicateDelayUsMax: 4_000, partitions: [{ fromUs: 5_000, toUs: 6_000 }], holds: [{ fromUs: 8_000, toUs: 9_000 }] }));
    h.fabric.configureLink(B, A, linkFaults({ delayUs: 100, lossRate: 0.3 }));
    // Act
    for (let i = 0; i < 5_000; i++) h.sendAt(i * 3, i % 2 === 0 ? A : B, i % 2 === 0 ? B : A, `${i}`);
    h.run();
    // Assert
    const born = new Set<number>();
    const ended = new Map<number, number>();
    for (const f of h.log.fates) {
      if (f.fate === 'sent') born.add(f.id);
      if (f.fate === 'duplicated') born.add(f.copyId);
      if (f.fate === 'delivered' || f.fate === 'dropped') ended.set(f.id, (ended.get(f.id) ?? 0) + 1);
    }
    expect(born.size).toBeGreaterThan(5_000);
    expect([...ended.keys()].sort((a, b) => a - b)).toEqual([...born].sort((a, b) => a - b));
    expect([...ended.values()].every((n) => n === 1)).toBe(true);
    const deliveredIds = h.log.fates.filter((f) => f.fate === 'delivered').map((f) => f.id);
    const receivedIds = [...receiverOf(h, A).got, ...receiverOf(h, B).got].map((g) => g.id);
    expect(receivedIds.sort((a, b) => a - b)).toEqual(deliveredIds.sort((a, b) => a - b));
  });

  it('without an observer the fabric still delivers', () => {
    // Arrange
    const h = harness();
    h.fabric.observer = null;
    h.fabric.configureLink(A, B, linkFaults({ lossRate: 0.5, duplicateRate: 0.5, oldDuplicateRate: 0.5, oldDuplicateDelayUsMax: 10, reorderRate: 0.5, reorderDelayUsMax: 10 }));
    // Act
    h.sendMany(1_000, A, B);
    h.run();
    // Assert
    expect(receiverOf(h, B).got.length).toBeGreaterThan(400);
    expect(h.log.fates).toEqual([]);
  });
});
