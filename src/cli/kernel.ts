/**
 * `timewait kernel FILE.json`: the scenario on this machine's Linux and in the simulator, diffed
 * (src/kernel/kernel-run.ts). Exit 0 when they agree, 1 on a difference, 2 when it cannot run
 * here (not root, no namespaces, a tool missing) or the file asks what Linux cannot be made to do.
 */
import { formatComparison, runKernelScenario } from '../kernel/kernel-run.js';
import { EXIT, UsageError } from './errors.js';
import { writeFileAtomic } from './fs.js';
import { resolvePath, type CliIo } from './io.js';
import { scenarioName } from '../scenario/scenario-file.js';
import { loadScenarioFile } from './fs.js';

export async function kernelCommand(file: string, options: { readonly pcap?: string }, io: CliIo): Promise<number> {
  const scenario = loadScenarioFile(resolvePath(io, file));
  const outcome = await runKernelScenario(scenario);
  if (!outcome.ok) {
    if ('cannotExpress' in outcome) throw new UsageError(`scenario file ${file} cannot run on a real kernel:\n${outcome.cannotExpress.map((w) => `  ${w}`).join('\n')}`);
    throw new UsageError(`cannot run the kernel side here:\n${outcome.cannotRun.map((w) => `  ${w}`).join('\n')}`);
  }
  io.stdout.write(formatComparison(scenarioName(file), outcome.plan, outcome.comparison));
  if (options.pcap !== undefined) {
    writeFileAtomic(resolvePath(io, options.pcap), outcome.comparison.kernel.capture);
    io.stdout.write(`# wrote ${options.pcap} (the kernel's capture of lo; timewait check ${options.pcap} judges it)\n`);
  }
  return outcome.comparison.differences.length === 0 ? EXIT.ok : EXIT.failed;
}
