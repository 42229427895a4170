/**
 * `timewait check FILE.pcap`: the monitors on a real capture (src/kernel/check-capture.ts).
 * Exit 0 when no monitor objects, 1 on a violation, 2 when the file is no capture or the
 * capture cannot be judged (cut inside TCP headers, one direction only, no TCP at all).
 */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { checkCapture, formatCaptureCheck } from '../kernel/check-capture.js';
import { CaptureFormatError } from '../report/pcap-read.js';
import { EXIT, UsageError } from './errors.js';
import { resolvePath, type CliIo } from './io.js';

export interface CheckPcapOptions {
  /** TIME-WAIT length to judge by (Linux: 60 s, fixed). */
  readonly timeWaitMs?: number;
  /** Delayed-ACK timeout for the close shape (Linux: 40 ms). */
  readonly delayedAckMs?: number;
  /** Also run close-shape (the simulator's delayed-ACK rule; real Linux does not always keep it). */
  readonly closeShape?: boolean;
}

export function checkPcapCommand(file: string, options: CheckPcapOptions, io: CliIo): number {
  const path = resolvePath(io, file);
  let bytes: Uint8Array;
  try {
    if (statSync(path).isDirectory()) throw new UsageError(`capture ${file} is a directory, not a file`);
    bytes = readFileSync(path);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read capture ${file}: ${(error as { code?: string }).code ?? String(error)}`);
  }
  let check;
  try {
    check = checkCapture(bytes, {
      ...(options.timeWaitMs !== undefined ? { timeWaitUs: options.timeWaitMs * 1000 } : {}),
      ...(options.delayedAckMs !== undefined ? { delayedAckUs: options.delayedAckMs * 1000 } : {}),
      closeShape: options.closeShape === true,
    });
  } catch (error) {
    if (error instanceof CaptureFormatError) throw new UsageError(`capture ${file}: ${error.message}`);
    throw error;
  }
  io.stdout.write(formatCaptureCheck(basename(file), check));
  if (check.cannotJudge.length > 0) {
    io.stderr.write(`timewait: capture ${file} cannot be judged: ${check.cannotJudge.join('; ')}\n`);
    return EXIT.usage;
  }
  return check.violations.length > 0 ? EXIT.failed : EXIT.ok;
}
