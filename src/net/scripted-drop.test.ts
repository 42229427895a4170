import { describe, expect, it } from 'vitest';
import { Scheduler } from '../sim/scheduler.js';
import { Fabric, type Datagram, type DropReason, type FabricObserver } from './fabric.js';
import { isFaulty, linkFaults } from './faults.js';

interface Packet extends Datagram {
  id: number;
}

function setup(options: { duplicateRate?: number } = {}) {
  const scheduler = new Scheduler();
  let nextId = 100;
  const fabric = new Fabric<Packet>(scheduler, { rootSeed: 7, mslUs: 30_000_000, enforceMsl: true, clone: (p) => ({ ...p, id: nextId++ }) });
  const delivered: string[] = [];
  const dropped: string[] = [];
  const observer: FabricObserver<Packet> = {
    sent: () => {},
    delivered: () => {},
    dropped: (p: Packet, _now: number, reason: DropReason) => dropped.push(`${p.id} ${reason}`),
    duplicated: () => {},
    delayed: () => {},
  };
  fabric.observer = observer;
  fabric.attach(1, { receive: (p) => delivered.push(`b>a ${p.id}`) });
  fabric.attach(2, { receive: (p) => delivered.push(`a>b ${p.id}`) });
  if (options.duplicateRate !== undefined) {
    fabric.configureLink(1, 2, linkFaults({ duplicateRate: options.duplicateRate }));
  }
  const send = (src: number, dst: number, id: number) => fabric.send({ id, srcIp: src, dstIp: dst, sentAtUs: 0 });
  return { scheduler, fabric, delivered, dropped, send };
}

describe('dropSegmentIndexes (scripted loss)', () => {
  it('drops exactly the listed indexes of one direction and nothing of the other', () => {
    // Arrange
    const { scheduler, fabric, delivered, dropped, send } = setup();
    fabric.configureLink(1, 2, linkFaults({ dropSegmentIndexes: [1, 3] }));
    // Act
    for (let i = 0; i < 5; i++) send(1, 2, i);
    send(2, 1, 10);
    send(2, 1, 11);
    scheduler.run({ maxEvents: 1000, maxTimeUs: 1e9 });
    // Assert
    expect(delivered).toEqual(['a>b 0', 'a>b 2', 'a>b 4', 'b>a 10', 'b>a 11']);
    expect(dropped).toEqual(['1 scripted', '3 scripted']);
  });

  it('counts originals only: network-made copies neither shift the count nor get dropped', () => {
    // Arrange: every segment is duplicated; drop index 1.
    const { scheduler, fabric, delivered, dropped, send } = setup({ duplicateRate: 1 });
    fabric.configureLink(1, 2, { ...fabric.faultsOf(1, 2), dropSegmentIndexes: [1] });
    // Act
    for (let i = 0; i < 3; i++) send(1, 2, i);
    scheduler.run({ maxEvents: 1000, maxTimeUs: 1e9 });
    // Assert: 0 and its copy, 2 and its copy; 1 is lost with no copy made.
    expect(delivered).toEqual(['a>b 0', 'a>b 100', 'a>b 2', 'a>b 101']);
    expect(dropped).toEqual(['1 scripted']);
  });

  it('keeps counting across a reconfiguration of the link', () => {
    // Arrange
    const { scheduler, fabric, delivered, send } = setup();
    send(1, 2, 0);
    send(1, 2, 1);
    // Act: index 2 is the next datagram sent, whatever was configured before.
    fabric.configureLink(1, 2, linkFaults({ dropSegmentIndexes: [2] }));
    send(1, 2, 2);
    send(1, 2, 3);
    scheduler.run({ maxEvents: 1000, maxTimeUs: 1e9 });
    // Assert
    expect(delivered).toEqual(['a>b 0', 'a>b 1', 'a>b 3']);
  });

  it('is a fault for isFaulty, and rejects a negative index', () => {
    expect(isFaulty(linkFaults({ dropSegmentIndexes: [0] }))).toBe(true);
    expect(isFaulty(linkFaults({ dropSegmentIndexes: [] }))).toBe(false);
    const { fabric } = setup();
    expect(() => fabric.configureLink(1, 2, linkFaults({ dropSegmentIndexes: [-1] }))).toThrow('dropSegmentIndexes must hold non-negative integers, got -1');
  });
});
