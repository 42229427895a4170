/**
 * `timewait kernel FILE.json`: the scenario's host programs on this machine's Linux, then the
 * same file in the simulator, and a side-by-side diff of what each did.
 *
 * The kernel side runs in a private network namespace (`unshare --net`) that the command creates
 * and that dies with it: `lo` up with MTU 1500 (MSS 1460, as the simulator's default) and no
 * segmentation offload, each scenario host's address on `lo`, the stack settings as that
 * namespace's sysctls, scripted drops as nftables rules on the input hook (after the capture, so
 * a dropped segment is in the capture, as the simulator traces it sent), tcpdump on `lo`, `ss`
 * at the end for TIME-WAIT. The socket calls are made by native/kernel-helper/helper.py, one
 * thread per host, each call not before the simulator made it and not before every call the
 * simulator made earlier has returned or blocked.
 *
 * This kernel has no netem, so links have no delay on the kernel side: the simulator side runs
 * with every link delay set to 0 too, so that both follow the same schedule.
 *
 * Layer: src/kernel sits above src/scenario (it runs scenario files, src/scenario/scenario-file.ts) and below the CLI.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runScenario, type ScenarioFile, type ScenarioResult } from '../scenario/scenario-file.js';
import { formatIpv4, hostIp, parseIpv4 } from '../net/address.js';
import { pcapOfWire } from '../report/pcap.js';
import { readCapture, type CapturedTcp } from '../report/pcap-read.js';
import { LINUX_DEFAULTS } from '../tcp/config.js';
import { ACK, FIN, RST, SYN } from '../tcp/segment.js';
import { seqAdd, seqGt } from '../tcp/seq.js';

export const HELPER_PATH = resolve(import.meta.dirname, '../../native/kernel-helper/helper.py');

/** Sysctls printed with every run (and the ones set from stack settings). */
export const REPORTED_SYSCTLS = [
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_rfc1337',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_syn_retries',
  'net.ipv4.tcp_syn_linear_timeouts',
  'net.ipv4.tcp_synack_retries',
  'net.ipv4.tcp_abort_on_overflow',
  'net.ipv4.tcp_early_retrans',
  'net.ipv4.tcp_retries2',
  'net.ipv4.tcp_invalid_ratelimit',
  'net.ipv4.tcp_rto_min_us',
  'net.ipv4.tcp_timestamps',
  'net.ipv4.tcp_sack',
  'net.ipv4.tcp_window_scaling',
  'net.ipv4.tcp_tw_reuse',
  'net.ipv4.tcp_max_tw_buckets',
];

/** Why the kernel side cannot run here, or [] when it can. */
export function kernelPrerequisites(options: { needNft: boolean }): string[] {
  if (process.platform !== 'linux') return [`needs Linux (this is ${process.platform})`];
  const reasons: string[] = [];
  if (process.getuid?.() !== 0) reasons.push('needs root, to create a network namespace and capture in it (run as root, or in a container as root)');
  const tools: [string, string][] = [
    ['unshare', 'util-linux'],
    ['python3', 'python3'],
    ['ip', 'iproute2'],
    ['ss', 'iproute2'],
    ['tcpdump', 'tcpdump'],
  ];
  if (options.needNft) tools.push(['nft', 'nftables']);
  for (const [tool, pkg] of tools) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0) reasons.push(`needs ${tool} (Debian package ${pkg}: apt-get install -y ${pkg})`);
  }
  if (!existsSync(HELPER_PATH)) reasons.push(`the socket helper ${HELPER_PATH} is missing`);
  if (reasons.length === 0) {
    const probe = spawnSync('unshare', ['--net', 'true'], { encoding: 'utf8' });
    if (probe.status !== 0) reasons.push(`cannot create a network namespace (unshare --net: ${(probe.stderr || '').trim() || `exit ${probe.status}`})`);
  }
  return reasons;
}

// ---------------------------------------------------------------------------------------------
// What of a scenario Linux can do
// ---------------------------------------------------------------------------------------------

export interface KernelPlan {
  /** host name -> dotted address */
  readonly ips: Record<string, string>;
  readonly sysctls: Record<string, string | number>;
  readonly nft: string;
  readonly loMtu: number;
  /** Settings that have no Linux counterpart: the run goes on, differences they cause are expected. */
  readonly notApplied: readonly string[];
  /** What Linux cannot be made to do at all: the command refuses (exit 2). */
  readonly cannotExpress: readonly string[];
  /** Per host: SO_RCVBUF / SO_SNDBUF for every socket it makes. */
  readonly socketBuffers: Record<string, { rcvbuf?: number; sndbuf?: number }>;
}

/** Linux's fixed TIME-WAIT (TCP_TIMEWAIT_LEN): 60 s, whatever MSL the scenario names. */
const LINUX_TIME_WAIT_US = 60_000_000;

export function planFor(scenario: ScenarioFile): KernelPlan {
  const cannot: string[] = [];
  const notApplied: string[] = [];
  const ips: Record<string, string> = {};
  scenario.hosts.forEach((host, i) => (ips[host.name] = host.ip ?? formatIpv4(hostIp(i))));
  const faultKeys: [string, (v: unknown) => boolean][] = [
    ['lossRate', (v) => (v as number) > 0],
    ['burst', (v) => v !== null],
    ['duplicateRate', (v) => (v as number) > 0],
    ['reorderRate', (v) => (v as number) > 0],
    ['oldDuplicateRate', (v) => (v as number) > 0],
    ['jitterUs', (v) => (v as number) > 0],
    ['partitions', (v) => (v as unknown[]).length > 0],
    ['holds', (v) => (v as unknown[]).length > 0],
  ];
  const links = [...(scenario.defaultLink !== undefined ? [{ where: 'defaultLink', link: scenario.defaultLink as Record<string, unknown> }] : []), ...scenario.links.map((link, i) => ({ where: `links[${i}]`, link: link as Record<string, unknown> }))];
  for (const { where, link } of links) {
    for (const [key, active] of faultKeys) {
      if (link[key] !== undefined && active(link[key])) cannot.push(`${where}.${key}: random or timed link faults (no netem in a plain namespace; only scripted drops, dropSegmentIndexes, map to nftables)`);
    }
  }
  scenario.hosts.forEach((host, i) =>
    host.script?.forEach((step, j) => {
      if (step.op === 'crash' || step.op === 'restart') cannot.push(`hosts[${i}].script[${j}]: ${step.op} (a host cannot crash inside one namespace)`);
      // The helper's calls block, with Python's timeouts: a non-blocking socket's EINPROGRESS and
      // EAGAIN are not there to compare.
      if (step.op === 'fcntl' && step.nonBlocking) cannot.push(`hosts[${i}].script[${j}]: fcntl O_NONBLOCK (the kernel helper makes blocking calls only)`);
    }),
  );
  // Scripted drops: the k-th TCP segment from A to B (0-based, all connections), as numgen counts them.
  const rules: string[] = [];
  const pairs: [string, string][] = [];
  for (const a of scenario.hosts) for (const b of scenario.hosts) if (a !== b) pairs.push([a.name, b.name]);
  for (const [from, to] of pairs) {
    const explicit = [...scenario.links].reverse().find((l) => (l.from === from && l.to === to) || (l.oneWay !== true && l.from === to && l.to === from));
    const drops = explicit?.dropSegmentIndexes ?? (explicit === undefined ? scenario.defaultLink?.dropSegmentIndexes : undefined) ?? [];
    if (drops.length === 0) continue;
    rules.push(`    ip saddr ${ips[from]} ip daddr ${ips[to]} meta l4proto tcp numgen inc mod 1000000000 { ${[...new Set(drops)].sort((x, y) => x - y).join(', ')} } counter drop`);
  }
  const nft = rules.length === 0 ? '' : `table inet timewait {\n  chain scripted_drops {\n    type filter hook input priority 0; policy accept;\n${rules.join('\n')}\n  }\n}\n`;

  // Stack settings: one namespace, one set of sysctls, so per-host values must agree.
  // The options the simulator's endpoints send, by default Linux's: timestamps and window
  // scaling on; SACK off unless the file asks for it (src/tcp/config.ts `sack`).
  const sysctls: Record<string, string | number> = {
    'net.ipv4.tcp_timestamps': LINUX_DEFAULTS.timestamps,
    'net.ipv4.tcp_sack': LINUX_DEFAULTS.sack ? 1 : 0,
    'net.ipv4.tcp_window_scaling': LINUX_DEFAULTS.windowScaling ? 1 : 0,
  };
  /** Sysctls still at the simulator's defaults, which a file's setting may replace. */
  const defaultsSet: Record<string, true> = { 'net.ipv4.tcp_timestamps': true, 'net.ipv4.tcp_sack': true, 'net.ipv4.tcp_window_scaling': true };
  const socketBuffers: Record<string, { rcvbuf?: number; sndbuf?: number }> = {};
  let loMtu = 1500;
  const stackOf = (i: number) => ({ ...scenario.stack, ...scenario.hosts[i]!.stack });
  const sysctlOf: Record<string, (v: number | boolean) => [string, string | number] | null> = {
    finWait2TimeoutUs: (v) => ['net.ipv4.tcp_fin_timeout', Math.max(1, Math.round((v as number) / 1e6))],
    synRetries: (v) => ['net.ipv4.tcp_syn_retries', v as number],
    synLinearTimeouts: (v) => ['net.ipv4.tcp_syn_linear_timeouts', v as number],
    synAckRetries: (v) => ['net.ipv4.tcp_synack_retries', v as number],
    abortOnOverflow: (v) => ['net.ipv4.tcp_abort_on_overflow', v ? 1 : 0],
    sack: (v) => ['net.ipv4.tcp_sack', v ? 1 : 0],
    earlyRetrans: (v) => ['net.ipv4.tcp_early_retrans', v as number],
    dataRetries: (v) => ['net.ipv4.tcp_retries2', v as number],
    rfc1337: (v) => ['net.ipv4.tcp_rfc1337', v ? 1 : 0],
    invalidRateLimitUs: (v) => ['net.ipv4.tcp_invalid_ratelimit', Math.round((v as number) / 1000)],
    rtoMinUs: (v) => (existsSync('/proc/sys/net/ipv4/tcp_rto_min_us') ? ['net.ipv4.tcp_rto_min_us', v as number] : null),
    timestamps: (v) => ['net.ipv4.tcp_timestamps', v as number],
    windowScaling: (v) => ['net.ipv4.tcp_window_scaling', v ? 1 : 0],
    twReuse: (v) => ['net.ipv4.tcp_tw_reuse', v as number],
    twReuseDelayUs: (v) => (existsSync('/proc/sys/net/ipv4/tcp_tw_reuse_delay') ? ['net.ipv4.tcp_tw_reuse_delay', Math.round((v as number) / 1000)] : null),
    maxTwBuckets: (v) => ['net.ipv4.tcp_max_tw_buckets', v as number],
    rmemMaxBytes: (v) => ['net.ipv4.tcp_rmem', `4096 131072 ${v as number}`],
  };
  const noSysctl: Record<string, string> = {
    mslUs: 'Linux has no MSL setting; its TIME-WAIT is fixed at 60 s (TCP_TIMEWAIT_LEN)',
    timeWaitUs: 'Linux\'s TIME-WAIT is fixed at 60 s (TCP_TIMEWAIT_LEN)',
    rtoInitialUs: 'Linux\'s initial RTO is fixed at 1 s (TCP_TIMEOUT_INIT)',
    rtoMaxUs: 'Linux\'s maximum RTO (TCP_RTO_MAX, 120 s) is not set here',
    delayedAckUs: 'Linux\'s delayed ACK is its own (TCP_DELACK_MIN 40 ms, TCP_ATO_MIN); no sysctl',
    jiffyUs: 'Linux\'s timer tick is its CONFIG_HZ, a build option (printed above); no sysctl',
    quickAcks: 'Linux\'s quick-ACK count is dynamic (tcp_incr_quickack: up to 16 segments, by receive window); no sysctl',
    isn: 'Linux picks ISNs by RFC 6528 (secure_tcp_seq); sequence numbers are compared relative to the ISN',
    netCoreRmemMaxBytes: 'net.core.rmem_max is one value for the whole machine, not per network namespace; left as it is',
    netCoreWmemMaxBytes: 'net.core.wmem_max is one value for the whole machine, not per network namespace; left as it is',
  };
  const seen = new Map<string, string>();
  scenario.hosts.forEach((host, i) => {
    const stack = stackOf(i);
    for (const [key, value] of Object.entries(stack)) {
      if (value === undefined) continue;
      const where = host.stack && key in host.stack ? `hosts[${i}].stack.${key}` : `stack.${key}`;
      const text = JSON.stringify(value);
      if (key === 'receiveBufferBytes' || key === 'sendBufferBytes') {
        // Linux doubles SO_RCVBUF for its overhead and advertises about half: close to the simulator's window.
        socketBuffers[host.name] = { ...socketBuffers[host.name], [key === 'receiveBufferBytes' ? 'rcvbuf' : 'sndbuf']: value as number };
        if (!seen.has(key)) notApplied.push(`${where} = ${text}: as SO_${key === 'receiveBufferBytes' ? 'RCVBUF' : 'SNDBUF'} on each socket of ${host.name} (Linux doubles it and keeps overhead; windows differ a little)`);
        seen.set(key, text);
        continue;
      }
      if (key === 'ephemeralPortMin' || key === 'ephemeralPortMax') {
        const min = (stack.ephemeralPortMin as number | undefined) ?? 32768;
        const max = (stack.ephemeralPortMax as number | undefined) ?? 60999;
        const range = `${min} ${max}`;
        if (sysctls['net.ipv4.ip_local_port_range'] !== undefined && sysctls['net.ipv4.ip_local_port_range'] !== range) cannot.push(`${where}: hosts with different ephemeral port ranges (one namespace, one ip_local_port_range)`);
        sysctls['net.ipv4.ip_local_port_range'] = range;
        continue;
      }
      if (key === 'mss') {
        loMtu = (value as number) + 40;
        continue;
      }
      const map = sysctlOf[key];
      if (map !== undefined) {
        const mapped = map(value as number | boolean);
        if (mapped === null) {
          notApplied.push(`${where} = ${text}: this kernel has no such sysctl`);
          continue;
        }
        const [name, sysValue] = mapped;
        if (sysctls[name] !== undefined && String(sysctls[name]) !== String(sysValue) && !(name in defaultsSet)) cannot.push(`${where}: hosts with different ${key} (one namespace, one ${name})`);
        sysctls[name] = sysValue;
        delete defaultsSet[name];
        continue;
      }
      if (key in noSysctl) {
        if (key === 'mslUs' && (value as number) * 2 === LINUX_TIME_WAIT_US) continue;
        if (key === 'timeWaitUs' && value === LINUX_TIME_WAIT_US) continue;
        const tag = `${key}=${text}`;
        if (!seen.has(tag)) notApplied.push(`${where} = ${text}: ${noSysctl[key]}`);
        seen.set(tag, text);
        continue;
      }
      notApplied.push(`${where} = ${text}: not mapped to Linux`);
    }
  });
  return { ips, sysctls, nft, loMtu, notApplied, cannotExpress: cannot, socketBuffers };
}

// ---------------------------------------------------------------------------------------------
// Running both sides
// ---------------------------------------------------------------------------------------------

export interface KernelCall {
  readonly host: string;
  readonly step: number;
  readonly op: string;
  readonly result: string;
  readonly atUs: number;
}

export interface KernelSide {
  readonly kernel: string;
  readonly sysctls: Record<string, string>;
  readonly calls: readonly KernelCall[];
  readonly packets: readonly CapturedTcp[];
  /** The capture file tcpdump wrote (pcap, Ethernet link type on lo). */
  readonly capture: Uint8Array;
  /** Realtime µs of the helper's time zero. */
  readonly t0Us: number;
  readonly ss: readonly { state: string; local: string; peer: string; timer: string }[];
  readonly ssAtUs: number;
  readonly unfinished: readonly string[];
  readonly wallMs: number;
}

/** The simulator side with every link delay set to 0, as loopback has none. */
export function simulatorSide(scenario: ScenarioFile): ScenarioResult {
  const zero = { delayUs: 0 };
  return runScenario({ ...scenario, defaultLink: { ...scenario.defaultLink, ...zero }, links: scenario.links.map((l) => ({ ...l, ...zero })) });
}

/** Sim call order: each reached step's index in the order the simulator started it, and its start time. */
function simSchedule(scenario: ScenarioFile, sim: ScenarioResult): Map<string, { index: number; atUs: number }> {
  const completion = new Map<string, { atUs: number; order: number }>();
  sim.events.forEach((e, i) => {
    if (e.type === 'call') completion.set(`${e.host}/${e.step}`, { atUs: e.atUs, order: i });
  });
  const starts: { key: string; atUs: number; after: number; program: number }[] = [];
  scenario.hosts.forEach((host, p) => {
    host.script?.forEach((_, j) => {
      const done = completion.get(`${host.name}/${j}`);
      if (done === undefined) return;
      const previous = j === 0 ? undefined : completion.get(`${host.name}/${j - 1}`);
      starts.push({ key: `${host.name}/${j}`, atUs: previous?.atUs ?? host.startUs ?? 0, after: previous?.order ?? -1, program: p });
    });
  });
  starts.sort((a, b) => a.atUs - b.atUs || a.after - b.after || a.program - b.program);
  return new Map(starts.map((s, index) => [s.key, { index, atUs: s.atUs }]));
}

/**
 * Each step's result as the call returned it. A send or a waiting recv is traced chunk by chunk
 * as its bytes move (`recv 1448`, then `recv 3552`); the call returned their sum.
 */
export function simCallResults(sim: Pick<ScenarioResult, 'events'>): Map<string, string> {
  const results = new Map<string, string>();
  const bytes = new Map<string, number>();
  for (const e of sim.events) {
    if (e.type !== 'call') continue;
    const key = `${e.host}/${e.step}`;
    const chunk = /^(sent|recv) (\d+)$/.exec(e.result);
    const summed = chunk !== null && (e.call.op === 'send' || e.call.op === 'recv');
    if (summed) bytes.set(key, (bytes.get(key) ?? 0) + Number(chunk[2]));
    results.set(key, summed ? `${chunk[1]} ${bytes.get(key)!}` : e.result);
  }
  return results;
}

/** Run the hosts' programs on this machine's kernel. Rejects with a message when the helper fails. */
export async function kernelSide(scenario: ScenarioFile, plan: KernelPlan, sim: ScenarioResult): Promise<KernelSide> {
  const dir = mkdtempSync(join(tmpdir(), 'timewait-kernel-'));
  try {
    const schedule = simSchedule(scenario, sim);
    const lastSimUs = Math.max(0, ...[...schedule.values()].map((s) => s.atUs));
    const helperPlan = {
      ips: plan.ips,
      sysctls: plan.sysctls,
      readSysctls: REPORTED_SYSCTLS,
      nft: plan.nft,
      loMtu: plan.loMtu,
      capture: join(dir, 'kernel.pcap'),
      // Long enough for the script and a few retransmissions; the settle ends it early when quiet.
      deadlineMs: Math.min(60_000, Math.ceil(lastSimUs / 1000) + 8_000),
      settleMs: 1_200,
      simCalls: schedule.size,
      socketBuffers: plan.socketBuffers,
      hosts: scenario.hosts.map((host) => ({
        name: host.name,
        startUs: host.startUs ?? 0,
        script: (host.script ?? []).map((step, j) => {
          const at = schedule.get(`${host.name}/${j}`);
          return at === undefined ? step : { ...step, simIndex: at.index, simAtUs: at.atUs };
        }),
      })),
    };
    const planPath = join(dir, 'plan.json');
    const resultPath = join(dir, 'result.json');
    writeFileSync(planPath, JSON.stringify(helperPlan));
    const started = Date.now(); // wall-clock-ok: src/kernel drives a real kernel in real time
    const stderr = await new Promise<string>((done, fail) => {
      const child = spawn('unshare', ['--net', 'python3', '-I', '-S', HELPER_PATH, planPath, resultPath], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      child.on('error', fail);
      child.on('close', () => done(err));
    });
    if (!existsSync(resultPath)) throw new Error(`the kernel helper ended without a result${stderr.trim() !== '' ? `: ${stderr.trim().split('\n').slice(-3).join(' / ')}` : ''}`);
    const result = JSON.parse(readFileSync(resultPath, 'utf8')) as {
      kernel: string;
      sysctls: Record<string, string>;
      calls: KernelCall[];
      errors: string[];
      ss: KernelSide['ss'];
      ssAtUs: number;
      t0RealtimeUs: number;
      unfinished: string[];
    };
    if (result.errors.length > 0) throw new Error(`the kernel helper failed: ${result.errors.join('; ')}`);
    const capturePath = join(dir, 'kernel.pcap');
    const capture = existsSync(capturePath) ? new Uint8Array(readFileSync(capturePath)) : new Uint8Array(0);
    const packets = capture.length > 0 ? readCapture(capture).tcp : [];
    return {
      kernel: result.kernel,
      sysctls: result.sysctls,
      calls: result.calls,
      packets,
      capture,
      t0Us: result.t0RealtimeUs,
      ss: result.ss,
      ssAtUs: result.ssAtUs,
      unfinished: result.unfinished ?? [],
      wallMs: Date.now() - started, // wall-clock-ok: see above
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The comparison
// ---------------------------------------------------------------------------------------------

/** One control segment (SYN, FIN, RST, or the pure ACK of a SYN or FIN), in relative terms. */
export interface ControlSegment {
  /** `c1 client>server [S.] seq 0 ack 1` */
  readonly text: string;
  readonly atUs: number;
}

export interface Side {
  readonly control: readonly ControlSegment[];
  /** `c1 client>server` -> data bytes (sequence space of data reached). */
  readonly dataBytes: ReadonlyMap<string, number>;
  /** `host/step` -> result. */
  readonly calls: ReadonlyMap<string, string>;
  /** host -> TIME-WAIT connections. */
  readonly timeWait: ReadonlyMap<string, number>;
}

/** The comparable view of a list of packets (times relative to `t0Us`). */
export function sideOf(packets: readonly CapturedTcp[], t0Us: number, hostOfIp: ReadonlyMap<string, string>, calls: ReadonlyMap<string, string>, timeWait: ReadonlyMap<string, number>): Side {
  interface Dir {
    isn: number | null;
    finSeq: number | null;
    dataEnd: number | null;
  }
  interface Conn {
    readonly number: number;
    readonly client: string;
    readonly dirs: Map<string, Dir>;
  }
  const conns = new Map<string, Conn>();
  const control: ControlSegment[] = [];
  const dataBytes = new Map<string, number>();
  let count = 0;
  const name = (ip: string) => hostOfIp.get(ip) ?? ip;
  for (const p of packets) {
    const src = `${p.src}:${p.srcPort}`;
    const dst = `${p.dst}:${p.dstPort}`;
    const key = src < dst ? `${src}|${dst}` : `${dst}|${src}`;
    const isSyn = (p.flags & SYN) !== 0 && (p.flags & ACK) === 0;
    let conn = conns.get(key);
    if (conn === undefined || (isSyn && conn.dirs.get(src)?.isn !== p.seq && conn.client === src)) {
      conn = { number: ++count, client: src, dirs: new Map() };
      conns.set(key, conn);
    }
    const dir = conn.dirs.get(src) ?? { isn: null, finSeq: null, dataEnd: null };
    conn.dirs.set(src, dir);
    const peer = conn.dirs.get(dst);
    if (p.flags & SYN && dir.isn === null) dir.isn = p.seq;
    const base = dir.isn ?? p.seq;
    const rel = (seq: number) => (seq - base) >>> 0;
    const peerBase = peer?.isn ?? null;
    const relAck = (ack: number) => (peerBase === null ? ack : (ack - peerBase) >>> 0);
    const label = `c${conn.number} ${name(p.src)}>${name(p.dst)}`;
    if (p.payloadLength > 0) {
      const end = seqAdd(p.seq, p.payloadLength);
      if (dir.dataEnd === null || seqGt(end, dir.dataEnd)) dir.dataEnd = end;
      dataBytes.set(label, ((dir.dataEnd - base) >>> 0) - 1);
    }
    if (p.flags & FIN && dir.finSeq === null) dir.finSeq = seqAdd(p.seq, p.payloadLength);
    const hasAck = (p.flags & ACK) !== 0;
    const ackOfSynOrFin = hasAck && peer !== undefined && ((peer.isn !== null && p.ack === seqAdd(peer.isn, 1)) || (peer.finSeq !== null && p.ack === seqAdd(peer.finSeq, 1)));
    const isControl = (p.flags & (SYN | FIN | RST)) !== 0 || (p.payloadLength === 0 && ackOfSynOrFin);
    if (!isControl) continue;
    const flags = `${p.flags & SYN ? 'S' : ''}${p.flags & FIN ? 'F' : ''}${p.flags & RST ? 'R' : ''}${hasAck ? '.' : ''}`;
    // A reset's sequence number comes from the segment it answers; without a SYN seen, absolute.
    const seqText = `seq ${rel(p.seq)}`;
    const ackText = hasAck ? ` ack ${relAck(p.ack)}` : '';
    const dataText = p.payloadLength > 0 ? ` +${p.payloadLength}B` : '';
    control.push({ text: `${label} [${flags}] ${seqText}${ackText}${dataText}`, atUs: p.atUs - t0Us });
  }
  return { control, dataBytes, calls, timeWait };
}

export type DifferenceAspect = 'control' | 'data' | 'calls' | 'time-wait' | 'timing';

export interface Difference {
  readonly aspect: DifferenceAspect;
  readonly what: string;
}

export interface KernelComparison {
  readonly kernel: KernelSide;
  readonly kernelView: Side;
  readonly simView: Side;
  readonly differences: readonly Difference[];
  readonly hz: number;
}

/** The timer wheel's granularity for a timeout of `us` (kernel/time/timer.c: 8× coarser per level of 64 buckets). */
export function wheelGranuleUs(us: number, hz: number): number {
  const jiffyUs = 1_000_000 / hz;
  const jiffies = Math.ceil(us / jiffyUs);
  let level = 0;
  let limit = 64;
  while (jiffies >= limit && level < 8) {
    level++;
    limit *= 8;
  }
  return 8 ** level * jiffyUs;
}

/** CONFIG_HZ of the running kernel, from /proc/config.gz when it is there; 100 (the coarsest) otherwise. */
export function kernelHz(): number {
  try {
    const out = spawnSync('sh', ['-c', 'zcat /proc/config.gz 2>/dev/null | grep "^CONFIG_HZ="'], { encoding: 'utf8' });
    const hz = Number(/CONFIG_HZ=(\d+)/.exec(out.stdout)?.[1]);
    return Number.isFinite(hz) && hz > 0 ? hz : 100;
  } catch {
    return 100;
  }
}

/** How late a kernel event may be, on top of the previous one's lateness: a wheel granule, a jiffy, and scheduling slack. */
export const SCHEDULING_SLACK_US = 30_000;
/** How early: clock skew between tcpdump's stamps and the helper's clock. */
export const EARLY_TOLERANCE_US = 2_000;

export function compare(scenario: ScenarioFile, plan: KernelPlan, sim: ScenarioResult, kernel: KernelSide): KernelComparison {
  const hostOfIp = new Map(Object.entries(plan.ips).map(([name, ip]) => [ip, name]));
  // Kernel calls and TIME-WAIT from ss.
  const kernelCalls = new Map<string, string>();
  for (const c of kernel.calls) kernelCalls.set(`${c.host}/${c.step}`, c.result);
  const kernelTw = new Map<string, number>();
  for (const s of kernel.ss) {
    if (s.state !== 'TIME-WAIT') continue;
    const host = hostOfIp.get(s.local.replace(/:\d+$/, '')) ?? s.local;
    kernelTw.set(host, (kernelTw.get(host) ?? 0) + 1);
  }
  const kernelView = sideOf(kernel.packets, kernel.t0Us, hostOfIp, kernelCalls, kernelTw);
  // Simulator: the same view, from its own capture.
  const simCalls = simCallResults(sim);
  for (const host of scenario.hosts) {
    host.script?.forEach((_, j) => {
      if (!simCalls.has(`${host.name}/${j}`)) simCalls.set(`${host.name}/${j}`, 'blocked');
    });
  }
  const simTw = new Map<string, number>();
  for (const c of sim.connections) if (c.timeWaitEntries > 0) simTw.set(c.host, (simTw.get(c.host) ?? 0) + 1);
  const simView = sideOf(readCapture(pcapOfWire(sim.events)).tcp, 0, new Map([...hostOfIp].map(([ip, name]) => [formatIpv4(parseIpv4(ip)), name])), simCalls, simTw);

  const differences: Difference[] = [];
  const n = Math.max(kernelView.control.length, simView.control.length);
  const controlDiff = firstControlDifference(kernelView.control, simView.control);
  const firstControlDiff = controlDiff?.index ?? -1;
  if (controlDiff !== null) {
    differences.push({ aspect: 'control', what: `control segment ${controlDiff.index + 1}: kernel ${controlDiff.kernel ?? '(none)'}, simulator ${controlDiff.sim ?? '(none)'}` });
  }
  const dataKeys = new Set([...kernelView.dataBytes.keys(), ...simView.dataBytes.keys()]);
  for (const key of dataKeys) {
    const k = kernelView.dataBytes.get(key) ?? 0;
    const s = simView.dataBytes.get(key) ?? 0;
    if (k !== s) differences.push({ aspect: 'data', what: `${key}: kernel ${k} data bytes, simulator ${s}` });
  }
  for (const host of scenario.hosts) {
    host.script?.forEach((step, j) => {
      const key = `${host.name}/${j}`;
      const k = kernelCalls.get(key) ?? 'blocked';
      const s = simCalls.get(key) ?? 'blocked';
      if (k !== s) differences.push({ aspect: 'calls', what: `${host.name} step ${j} ${step.op}: kernel ${k}, simulator ${s}` });
    });
  }
  const twHosts = new Set([...kernelTw.keys(), ...simTw.keys()]);
  for (const host of twHosts) {
    if ((kernelTw.get(host) ?? 0) !== (simTw.get(host) ?? 0)) differences.push({ aspect: 'time-wait', what: `${host}: kernel holds ${kernelTw.get(host) ?? 0} TIME-WAIT, simulator entered ${simTw.get(host) ?? 0}` });
  }
  // Timings of the control segments both agree on: each may add at most one wheel granule of lateness.
  const hz = kernelHz();
  const agreed = firstControlDiff < 0 ? n : firstControlDiff;
  let previousOffset = 0;
  for (let i = 0; i < agreed; i++) {
    const k = kernelView.control[i]!;
    const s = simView.control[i]!;
    const offset = k.atUs - s.atUs;
    const gapUs = i === 0 ? s.atUs : s.atUs - simView.control[i - 1]!.atUs;
    const lateUs = wheelGranuleUs(gapUs, hz) + 1_000_000 / hz + SCHEDULING_SLACK_US;
    if (offset < -EARLY_TOLERANCE_US) {
      differences.push({ aspect: 'timing', what: `control segment ${i + 1} (${s.text}): kernel at ${fmtMs(k.atUs)}, simulator at ${fmtMs(s.atUs)}: ${fmtMs(-offset)} early` });
      break;
    }
    if (offset - previousOffset > lateUs) {
      differences.push({ aspect: 'timing', what: `control segment ${i + 1} (${s.text}): kernel at ${fmtMs(k.atUs)}, simulator at ${fmtMs(s.atUs)}: ${fmtMs(offset - previousOffset)} later than the segment before it allows (at most ${fmtMs(lateUs)})` });
      break;
    }
    previousOffset = Math.max(0, offset);
  }
  return { kernel, kernelView, simView, differences, hz };
}

/**
 * The first position where the two lists of control segments disagree, or -1. The simulator's
 * side runs with every link delay 0, so segments it sends at one instant have no order Linux
 * must keep: on loopback two timers due together (a SYN and a SYN,ACK both resent at 1 s, two
 * FINs resent at one RTO) run in whichever order the timer wheel's bucket gives, and each answer
 * follows its cause at once. So the segments of one simulator instant are compared as a multiset,
 * against as many kernel segments in the same places; everything else keeps its order. The
 * difference named is the first segment of the instant the kernel lacks, and the first the
 * kernel has instead.
 */
export function firstControlDifference(kernel: readonly ControlSegment[], sim: readonly ControlSegment[]): ControlDifference | null {
  let i = 0;
  while (i < sim.length) {
    let end = i + 1;
    while (end < sim.length && sim[end]!.atUs === sim[i]!.atUs) end++;
    // What each side has that the other lacks, in the simulator's order.
    const kernelLeft = kernel.slice(i, end).map((c) => c.text);
    const simOnly: number[] = [];
    for (let j = i; j < end; j++) {
      const at = kernelLeft.indexOf(sim[j]!.text);
      if (at >= 0) kernelLeft.splice(at, 1);
      else simOnly.push(j);
    }
    if (simOnly.length > 0) return { index: simOnly[0]!, kernel: kernelLeft[0], sim: sim[simOnly[0]!]!.text };
    i = end;
  }
  return kernel.length > sim.length ? { index: sim.length, kernel: kernel[sim.length]!.text, sim: undefined } : null;
}

/** Where the control segments first disagree: the segment each side has there and the other lacks. */
export interface ControlDifference {
  readonly index: number;
  readonly kernel: string | undefined;
  readonly sim: string | undefined;
}

function fmtMs(us: number): string {
  return `${(us / 1000).toFixed(3)} ms`;
}

/** The side-by-side report. */
export function formatComparison(name: string, plan: KernelPlan, c: KernelComparison): string {
  const lines: string[] = [];
  lines.push(`# kernel ${c.kernel.kernel} (CONFIG_HZ ${c.hz}), scenario ${name}, hosts ${Object.entries(plan.ips).map(([h, ip]) => `${h}=${ip}`).join(' ')} on lo (MTU ${plan.loMtu}, no offload, no link delay)`);
  lines.push(`# sysctls: ${Object.entries(c.kernel.sysctls).map(([k, v]) => `${k.replace('net.ipv4.', '')}=${v}`).join(' ')}`);
  if (plan.nft !== '') lines.push(`# scripted drops as nftables rules (input hook): ${plan.nft.split('\n').filter((l) => l.includes('drop')).map((l) => l.trim().replace(/ counter drop$/, '')).join('; ')}`);
  lines.push('# simulator side: the same file, every link delay 0 (loopback has none)');
  for (const note of plan.notApplied) lines.push(`# not applied: ${note}`);
  const width = Math.max(28, ...c.kernelView.control.map((s) => s.text.length)) + 12;
  lines.push('', 'control segments (relative seq/ack, PSH left out)', `  ${'#'.padStart(3)}  ${'kernel'.padEnd(width)}  simulator`);
  const n = Math.max(c.kernelView.control.length, c.simView.control.length);
  const firstDiff = firstControlDifference(c.kernelView.control, c.simView.control)?.index ?? -1;
  for (let i = 0; i < n; i++) {
    const k = c.kernelView.control[i];
    const s = c.simView.control[i];
    const kt = k === undefined ? '' : `${fmtMs(k.atUs).padStart(11)} ${k.text}`;
    const st = s === undefined ? '' : `${fmtMs(s.atUs).padStart(11)} ${s.text}`;
    // A row differs from the first control difference on; rows of one instant reordered before it agree.
    const differs = firstDiff >= 0 && i >= firstDiff;
    lines.push(`${differs ? '!' : k?.text === s?.text ? ' ' : '~'} ${String(i + 1).padStart(3)}  ${kt.padEnd(width)}  ${st}`);
  }
  lines.push('', 'data bytes per direction');
  for (const key of new Set([...c.kernelView.dataBytes.keys(), ...c.simView.dataBytes.keys()])) {
    const k = c.kernelView.dataBytes.get(key) ?? 0;
    const s = c.simView.dataBytes.get(key) ?? 0;
    lines.push(`${k === s ? ' ' : '!'}   ${key.padEnd(24)} kernel ${String(k).padStart(6)}  simulator ${String(s).padStart(6)}`);
  }
  lines.push('', 'calls');
  for (const key of c.simView.calls.keys()) {
    const k = c.kernelView.calls.get(key) ?? 'blocked';
    const s = c.simView.calls.get(key)!;
    lines.push(`${k === s ? ' ' : '!'}   ${key.padEnd(16)} kernel ${k.padEnd(14)} simulator ${s}`);
  }
  lines.push('', `TIME-WAIT holders (kernel: ss ${fmtMs(c.kernel.ssAtUs)} after the start; simulator: connections that entered TIME-WAIT)`);
  const tw = (m: ReadonlyMap<string, number>) => ([...m].map(([h, count]) => `${h}×${count}`).join(', ') || 'none');
  lines.push(`${tw(c.kernelView.timeWait) === tw(c.simView.timeWait) ? ' ' : '!'}   kernel ${tw(c.kernelView.timeWait)}; simulator ${tw(c.simView.timeWait)}`);
  const timers = c.kernel.ss.filter((s) => s.state === 'TIME-WAIT').map((s) => `${s.local}->${s.peer} ${s.timer}`);
  if (timers.length > 0) lines.push(`    kernel TIME-WAIT timers: ${timers.join('; ')}`);
  if (c.kernel.unfinished.length > 0) lines.push(`    kernel scripts not finished by the deadline: ${c.kernel.unfinished.join(', ')}`);
  lines.push('');
  if (c.differences.length === 0) lines.push('# result: agree');
  else {
    lines.push(`# result: differ (${c.differences.length})`);
    for (const d of c.differences) lines.push(`#   ${d.aspect}: ${d.what}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Everything `timewait kernel` does but printing: returns the comparison or the reasons it cannot run. */
export async function runKernelScenario(scenario: ScenarioFile): Promise<{ ok: true; plan: KernelPlan; comparison: KernelComparison } | { ok: false; cannotRun: string[] } | { ok: false; cannotExpress: readonly string[] }> {
  const plan = planFor(scenario);
  if (plan.cannotExpress.length > 0) return { ok: false, cannotExpress: plan.cannotExpress };
  const missing = kernelPrerequisites({ needNft: plan.nft !== '' });
  if (missing.length > 0) return { ok: false, cannotRun: missing };
  const sim = simulatorSide(scenario);
  const kernel = await kernelSide(scenario, plan, sim);
  return { ok: true, plan, comparison: compare(scenario, plan, sim, kernel) };
}
