import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatIpv4 } from '../net/address.js';
import { linkFaults } from '../net/faults.js';
import { ACK, FIN, RST, SYN, type Segment } from '../tcp/segment.js';
import type { TraceEvent } from '../world/trace.js';
import { lingerAbortRun, threeWayCloseRun, type ExampleRun } from './example-runs.js';
import { LINKTYPE_RAW, encodeIpv4Tcp, formatSegmentFates, hostPackets, internetChecksum, pcapForHost, pcapOfWire, segmentFates, wirePackets, type CapturedSegment } from './pcap.js';

// Runs shared by the tests below -------------------------------------------------------------

/** The article's capture: 5 bytes, then a three-way close. No faults. */
const clean = threeWayCloseRun();
/** The server's FIN+ACK (sent at 4 ms) is lost: both sides retransmit after their RTO. */
const lossy = threeWayCloseRun({
  configure: (world, client, server) => world.fabric.configureLink(server.ip, client.ip, linkFaults({ partitions: [{ fromUs: 4_000, toUs: 4_001 }] })),
});
/** Every segment from client to server arrives twice. */
const duplicating = threeWayCloseRun({ configure: (world, client, server) => world.fabric.configureLink(client.ip, server.ip, linkFaults({ duplicateRate: 1 })) });
/** 3001 bytes: two full segments and an odd-length one, to exercise checksum padding. */
const bulk = threeWayCloseRun({ bytes: 3_001 });
/** C15: an RST instead of the server's FIN. */
const abort = lingerAbortRun();

function sentSegments(events: readonly TraceEvent[]): Segment[] {
  const out: Segment[] = [];
  for (const e of events) if (e.type === 'segment' && e.fate === 'sent') out.push(e.seg);
  return out;
}

// A minimal reader of what we wrote, independent of the writer ---------------------------------

interface DecodedPacket {
  readonly atUs: number;
  readonly bytes: Uint8Array;
}

function readPcap(file: Uint8Array): { linktype: number; snaplen: number; packets: DecodedPacket[] } {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  expect(view.getUint32(0, true)).toBe(0xa1b2c3d4);
  expect([view.getUint16(4, true), view.getUint16(6, true)]).toEqual([2, 4]);
  const packets: DecodedPacket[] = [];
  let offset = 24;
  while (offset < file.length) {
    const sec = view.getUint32(offset, true);
    const usec = view.getUint32(offset + 4, true);
    const incl = view.getUint32(offset + 8, true);
    expect(view.getUint32(offset + 12, true)).toBe(incl);
    expect(usec).toBeLessThan(1_000_000);
    packets.push({ atUs: sec * 1_000_000 + usec, bytes: file.subarray(offset + 16, offset + 16 + incl) });
    offset += 16 + incl;
  }
  expect(offset).toBe(file.length);
  return { linktype: view.getUint32(20, true), snaplen: view.getUint32(16, true), packets };
}

/** Check every header field of one datagram against the segment it encodes. */
function expectDatagramOf(bytes: Uint8Array, seg: Segment): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const options = expectedOptionBytes(seg);
  const optionBytes = options.length;
  expect(view.getUint8(0)).toBe(0x45); // version 4, IHL 5
  expect(view.getUint16(2)).toBe(bytes.length);
  expect(bytes.length).toBe(40 + optionBytes + seg.payload.length);
  expect(view.getUint16(6)).toBe(0x4000); // DF, offset 0
  expect(view.getUint8(8)).toBe(64);
  expect(view.getUint8(9)).toBe(6);
  expect(internetChecksum(bytes, 0, 20, 0)).toBe(0); // a correct header sums to 0xffff
  expect(view.getUint32(12)).toBe(seg.srcIp);
  expect(view.getUint32(16)).toBe(seg.dstIp);
  expect(view.getUint16(20)).toBe(seg.srcPort);
  expect(view.getUint16(22)).toBe(seg.dstPort);
  expect(view.getUint32(24)).toBe(seg.seq);
  expect(view.getUint32(28)).toBe(seg.flags & ACK ? seg.ack : 0);
  expect(view.getUint8(32) >> 4).toBe((20 + optionBytes) / 4);
  expect(view.getUint8(33)).toBe(seg.flags);
  expect(view.getUint16(34)).toBe(seg.window);
  expect([...bytes.subarray(40, 40 + optionBytes)]).toEqual(options);
  expect([...bytes.subarray(40 + optionBytes)]).toEqual([...seg.payload]);
  const tcpLength = bytes.length - 20;
  const pseudo = (seg.srcIp >>> 16) + (seg.srcIp & 0xffff) + (seg.dstIp >>> 16) + (seg.dstIp & 0xffff) + 6 + tcpLength;
  expect(internetChecksum(bytes, 20, bytes.length, pseudo)).toBe(0);
}

/**
 * The option bytes a Linux SYN (sack off) or later segment carries, written out by hand:
 * MSS 2,4,mss; NOP,NOP,TS 8,10,val,ecr; NOP,WS 3,3,shift (RFC 7323, Linux tcp_options_write).
 */
function expectedOptionBytes(seg: Segment): number[] {
  const u32 = (v: number): number[] => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
  const bytes: number[] = [];
  if (seg.mss > 0) bytes.push(2, 4, seg.mss >> 8, seg.mss & 255);
  if (seg.tsVal >= 0) bytes.push(1, 1, 8, 10, ...u32(seg.tsVal), ...u32(seg.tsEcr));
  if (seg.wscale >= 0) bytes.push(1, 3, 3, seg.wscale);
  return bytes;
}

function expectCaptureOf(file: Uint8Array, packets: readonly CapturedSegment[]): void {
  const read = readPcap(file);
  expect(read.linktype).toBe(LINKTYPE_RAW);
  expect(read.packets.map((p) => p.atUs)).toEqual(packets.map((p) => p.atUs));
  read.packets.forEach((packet, i) => expectDatagramOf(packet.bytes, packets[i]!.seg));
}

describe('encodeIpv4Tcp', () => {
  it('writes every header field, options padded, checksums that verify', () => {
    // Arrange
    const segments = [...sentSegments(clean.events), ...sentSegments(bulk.events), ...sentSegments(abort.events)];
    expect(segments.some((s) => s.mss > 0)).toBe(true);
    expect(segments.some((s) => s.wscale === 7 && s.tsVal >= 0)).toBe(true);
    expect(segments.some((s) => s.mss === 0 && s.tsVal >= 0)).toBe(true);
    expect(segments.some((s) => s.payload.length % 2 === 1)).toBe(true);
    expect(segments.some((s) => s.flags & RST)).toBe(true);
    // Act / Assert
    for (const seg of segments) expectDatagramOf(encodeIpv4Tcp(seg), seg);
  });

  it('zeroes the acknowledgment field without ACK, as senders must', () => {
    // Arrange
    const syn = sentSegments(clean.events)[0]!;
    expect(syn.flags).toBe(SYN);
    // Act
    const bytes = encodeIpv4Tcp({ ...syn, ack: 12345 });
    // Assert
    expect(new DataView(bytes.buffer).getUint32(28)).toBe(0);
  });

  it('rejects a window that does not fit 16 bits', () => {
    const syn = sentSegments(clean.events)[0]!;
    expect(() => encodeIpv4Tcp({ ...syn, window: 70_000 })).toThrow(/window 70000/);
  });
});

describe('captures', () => {
  it('the wire capture holds every segment a host sent, at send time', () => {
    const file = pcapOfWire(clean.events);
    expectCaptureOf(file, wirePackets(clean.events));
    expect(readPcap(file).packets).toHaveLength(7); // 3 to open, 1 data, 3 to close (C7)
  });

  it('a host capture holds what it sent and what was delivered to it', () => {
    for (const host of [clean.client, clean.server]) {
      // Act
      const file = pcapForHost(clean.events, host.ip);
      // Assert
      expectCaptureOf(file, hostPackets(clean.events, host.ip));
      expect(readPcap(file).packets).toHaveLength(7); // clean link: everything both sent and received
    }
  });

  it('a lost segment is only in the wire and sender captures', () => {
    // Arrange
    const lost = segmentFates(lossy.events).filter((row) => row.outcome.kind === 'dropped');
    expect(lost).toHaveLength(1);
    const seg = lost[0]!.segment;
    const inCapture = (file: Uint8Array): number => readPcap(file).packets.filter((p) => new DataView(p.bytes.buffer, p.bytes.byteOffset).getUint16(4) === seg.id).length;
    // Act / Assert
    expect(inCapture(pcapOfWire(lossy.events))).toBe(1);
    expect(inCapture(pcapForHost(lossy.events, lossy.server.ip))).toBe(1);
    expect(inCapture(pcapForHost(lossy.events, lossy.client.ip))).toBe(0);
  });

  it('a network duplicate is twice in the receiver capture, with its original IP id', () => {
    // Arrange
    const copies = segmentFates(duplicating.events).filter((row) => row.copyKind === 'duplicate');
    expect(copies.length).toBeGreaterThan(0);
    const ids = (file: Uint8Array): number[] => readPcap(file).packets.map((p) => new DataView(p.bytes.buffer, p.bytes.byteOffset).getUint16(4));
    const serverIds = ids(pcapForHost(duplicating.events, duplicating.server.ip));
    const wireIds = ids(pcapOfWire(duplicating.events));
    // Assert
    for (const copy of copies) {
      expect(copy.ipId).toBe(copy.copyOf);
      expect(serverIds.filter((id) => id === copy.copyOf)).toHaveLength(2);
      expect(wireIds.filter((id) => id === copy.copyOf)).toHaveLength(1);
    }
  });

  it('lists each segment fate, copies and retransmissions included', () => {
    // Act
    const rows = segmentFates(lossy.events);
    const table = formatSegmentFates(rows);
    // Assert
    expect(rows.filter((r) => r.retransmission).length).toBe(2);
    expect(table).toContain('dropped 0.004000 (partition)');
    expect(table).toMatch(/retransmission, delivered 0\.20\d{4}/);
    expect(formatSegmentFates(segmentFates(duplicating.events))).toContain('duplicate of #');
  });
});

// tshark read-back ---------------------------------------------------------------------------

const TSHARK = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
const HAVE_TSHARK = TSHARK.status === 0;
const TSHARK_REASON = 'tshark is not on PATH (Debian: apt-get install -y tshark; .ci/run installs it when root)';
if (!HAVE_TSHARK) {
  // Skipped, never silently passed: say so, and fail where tshark is required.
  console.warn(`pcap.test.ts: SKIPPING tshark read-back tests: ${TSHARK_REASON}`);
  if (process.env['TIMEWAIT_REQUIRE_TSHARK'] === '1') throw new Error(`TIMEWAIT_REQUIRE_TSHARK=1 but ${TSHARK_REASON}`);
}

/** Fields read back per frame, in this order. */
const FIELDS = [
  'frame.time_epoch',
  'ip.version',
  'ip.hdr_len',
  'ip.len',
  'ip.id',
  'ip.flags.df',
  'ip.ttl',
  'ip.proto',
  'ip.src',
  'ip.dst',
  'ip.checksum.status',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.seq_raw',
  'tcp.ack_raw',
  'tcp.hdr_len',
  'tcp.flags',
  'tcp.window_size_value',
  'tcp.options.mss_val',
  'tcp.options.timestamp.tsval',
  'tcp.options.timestamp.tsecr',
  'tcp.options.wscale.shift',
  'tcp.len',
  'tcp.payload',
  'tcp.checksum.status',
  'tcp.analysis.retransmission',
  '_ws.expert.severity',
  '_ws.expert.message',
  '_ws.malformed',
] as const;
type Field = (typeof FIELDS)[number];
type Frame = Record<Field, string>;

/** Wireshark's expert severities (epan/proto.h: PI_CHAT, PI_NOTE, PI_WARN). */
const PI_NOTE = 0x00400000;
const PI_WARN = 0x00600000;
/** The one warning a correct capture can carry: an RST (C14/C15 aborts) is reported as one. */
const EXPECTED_WARNING = 'Connection reset (RST)';

let workDir: string | null = null;

function tshark(file: Uint8Array, name: string): Frame[] {
  workDir ??= mkdtempSync(join(tmpdir(), 'timewait-pcap-'));
  const path = join(workDir, `${name}.pcap`);
  writeFileSync(path, file);
  const args = ['-r', path, '-n', '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=|'];
  for (const field of FIELDS) args.push('-e', field);
  const run = spawnSync('tshark', args, { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  // tshark says nothing on stderr for a good file but its root warning.
  expect(run.stderr.split('\n').filter((line) => line !== '' && !line.startsWith('Running as user'))).toEqual([]);
  return run.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const values = line.split('\t');
      return Object.fromEntries(FIELDS.map((field, i) => [field, values[i] ?? ''])) as Frame;
    });
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Every field we wrote, as tshark decoded it. */
function expectFrameOf(frame: Frame, packet: CapturedSegment): void {
  const seg = packet.seg;
  const optionBytes = expectedOptionBytes(seg).length;
  expect(frame).toMatchObject({
    'frame.time_epoch': `${Math.floor(packet.atUs / 1e6)}.${String(packet.atUs % 1e6).padStart(6, '0')}000`,
    'ip.version': '4',
    'ip.hdr_len': '20',
    'ip.len': String(40 + optionBytes + seg.payload.length),
    'ip.id': `0x${((seg.copyOf >= 0 ? seg.copyOf : seg.id) & 0xffff).toString(16).padStart(4, '0')}`,
    'ip.flags.df': '1',
    'ip.ttl': '64',
    'ip.proto': '6',
    'ip.src': formatIpv4(seg.srcIp),
    'ip.dst': formatIpv4(seg.dstIp),
    'ip.checksum.status': '1', // Good
    'tcp.srcport': String(seg.srcPort),
    'tcp.dstport': String(seg.dstPort),
    'tcp.seq_raw': String(seg.seq),
    'tcp.ack_raw': String(seg.flags & ACK ? seg.ack : 0),
    'tcp.hdr_len': String(20 + optionBytes),
    'tcp.flags': `0x${seg.flags.toString(16).padStart(4, '0')}`,
    'tcp.window_size_value': String(seg.window),
    'tcp.options.mss_val': seg.mss > 0 ? String(seg.mss) : '',
    'tcp.options.timestamp.tsval': seg.tsVal >= 0 ? String(seg.tsVal) : '',
    'tcp.options.timestamp.tsecr': seg.tsVal >= 0 ? String(seg.tsEcr) : '',
    'tcp.options.wscale.shift': seg.wscale >= 0 ? String(seg.wscale) : '',
    'tcp.len': String(seg.payload.length),
    'tcp.payload': hex(seg.payload),
    'tcp.checksum.status': '1', // Good
    '_ws.malformed': '',
  });
}

/** Nothing above a note, but the RST warning where there is an RST. */
function expectNoWarnings(frames: readonly Frame[], packets: readonly CapturedSegment[]): void {
  frames.forEach((frame, i) => {
    const severities = frame['_ws.expert.severity'] === '' ? [] : frame['_ws.expert.severity'].split('|').map(Number);
    const messages = frame['_ws.expert.message'].split('|');
    const serious = messages.filter((message, j) => severities[j]! >= PI_WARN && !(message === EXPECTED_WARNING && packets[i]!.seg.flags & RST));
    expect(serious, `frame ${i + 1}`).toEqual([]);
  });
}

function retransmissionFlags(frames: readonly Frame[]): boolean[] {
  return frames.map((frame) => frame['tcp.analysis.retransmission'] !== '');
}

function captures(run: ExampleRun): { name: string; file: Uint8Array; packets: CapturedSegment[]; senderIp: number | null }[] {
  return [
    { name: 'wire', file: pcapOfWire(run.events), packets: wirePackets(run.events), senderIp: null },
    { name: 'client', file: pcapForHost(run.events, run.client.ip), packets: hostPackets(run.events, run.client.ip), senderIp: run.client.ip },
    { name: 'server', file: pcapForHost(run.events, run.server.ip), packets: hostPackets(run.events, run.server.ip), senderIp: run.server.ip },
  ];
}

describe.skipIf(!HAVE_TSHARK)(`tshark read-back${HAVE_TSHARK ? '' : ` (SKIPPED: ${TSHARK_REASON})`}`, () => {
  afterAll(() => {
    if (workDir !== null) rmSync(workDir, { recursive: true, force: true });
  });

  it('decodes every field we wrote, with good checksums and no warnings', () => {
    for (const [runName, run] of Object.entries({ clean, lossy, duplicating, bulk, abort })) {
      for (const capture of captures(run)) {
        // Act
        const frames = tshark(capture.file, `${runName}-${capture.name}`);
        // Assert
        expect(frames).toHaveLength(capture.packets.length);
        frames.forEach((frame, i) => expectFrameOf(frame, capture.packets[i]!));
        expectNoWarnings(frames, capture.packets);
      }
    }
  });

  it('a clean run shows no retransmission in any capture', () => {
    for (const capture of [...captures(clean), ...captures(bulk)]) {
      const frames = tshark(capture.file, `clean-${capture.name}`);
      expect(retransmissionFlags(frames)).not.toContain(true);
    }
  });

  it("Wireshark's retransmissions are exactly the simulator's, in the wire capture and each sender's", () => {
    for (const [runName, run] of Object.entries({ lossy, duplicating })) {
      // Arrange
      expect(sentSegments(run.events).some((seg) => seg.retransmission)).toBe(true);
      for (const capture of captures(run)) {
        // Act
        const flagged = retransmissionFlags(tshark(capture.file, `${runName}-retx-${capture.name}`));
        // Assert: what a host sent is judged from its own side. Segments delivered to a host
        // are judged against what reached it: a network duplicate looks retransmitted there.
        capture.packets.forEach((packet, i) => {
          if (capture.senderIp !== null && packet.seg.srcIp !== capture.senderIp) return;
          expect(flagged[i], `${runName} ${capture.name} frame ${i + 1} (#${packet.seg.id})`).toBe(packet.seg.retransmission);
        });
      }
    }
  });

  it('the FIN the simulator lost reaches the client only as a retransmission', () => {
    // Arrange
    const lostFin = segmentFates(lossy.events).find((row) => row.outcome.kind === 'dropped')!.segment;
    expect(lostFin.flags & FIN).toBeTruthy();
    // Act
    const frames = tshark(pcapForHost(lossy.events, lossy.client.ip), 'lossy-client-fin');
    const fins = frames.filter((f) => f['ip.src'] === formatIpv4(lostFin.srcIp) && Number(f['tcp.flags']) & FIN);
    // Assert: one FIN arrived, its IP id is the retransmission's, not the lost original's.
    expect(fins).toHaveLength(1);
    expect(Number(fins[0]!['ip.id'])).not.toBe(lostFin.id);
    expect(Number(fins[0]!['tcp.seq_raw'])).toBe(lostFin.seq);
  });

  it('expert levels stay at note or below in a clean run', () => {
    const frames = tshark(pcapOfWire(clean.events), 'clean-expert');
    for (const frame of frames) {
      const severities = frame['_ws.expert.severity'] === '' ? [] : frame['_ws.expert.severity'].split('|').map(Number);
      for (const severity of severities) expect(severity).toBeLessThanOrEqual(PI_NOTE);
    }
  });
});
