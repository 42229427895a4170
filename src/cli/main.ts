/**
 * The `timewait` command line: commander parses, the zod schemas in options.ts check every
 * value, and each command returns its exit code. `main` never calls process.exit and writes only
 * to the streams it is given, so tests run it in-process with captured output.
 *
 *   0 every property held · 1 a property failed · 2 bad input · 3 internal error · 130 Ctrl-C
 */
import { Command, CommanderError, Option } from 'commander';
import { z } from 'zod';
import { listCommand, mergeCommand, replayCommandHandler, scenarioCommandHandler, type OutputOptions, type ReplaySource } from './commands.js';
import { EXIT, parseOrThrow, UsageError } from './errors.js';
import type { CliIo } from './io.js';
import { campaignSeedSchema, endpointNameSchema, envSchema, flagName, formatSchema, pathSchema, runsSchema, seedSchema, shardSchema, suiteNameSchema, workersSchema } from './options.js';
import { runCommand } from './run.js';
import { packetdrillCommand } from './packetdrill.js';
import { stackCheckCommand } from './stack-check.js';
import { StackProcessError } from '../stack/channel.js';
import { probeExternalStack } from '../stack/external.js';
import { ProtocolError } from '../stack/protocol.js';
import { registerWireCommands } from './wire-commands.js';

export const VERSION = '0.1.0';

/** `--profile rfc|linux`: which monitors judge the run (src/check/profiles.ts). */
const profileSchema = z.enum(['rfc', 'linux'], { error: 'expected rfc (RFC 9293\'s promises) or linux (every monitor, Linux\'s choices too)' });


const runOptionsSchema = z
  .object({
    suites: z.array(suiteNameSchema),
    runs: runsSchema.optional(),
    seed: campaignSeedSchema.default('random'),
    endpoint: endpointNameSchema.default('reference'),
    profile: profileSchema.optional(),
    workers: workersSchema.optional(),
    shard: shardSchema.optional(),
    csv: z.string().min(1).optional(),
    perConnection: z.boolean().default(false),
    reportsDir: z.string().min(1).default('reports'),
    reports: z.boolean().default(true),
    store: z.boolean().default(true),
    timing: z.boolean().default(true),
    report: z.string().min(1).optional(),
  })
  .superRefine((o, ctx) => {
    if (o.shard !== undefined && o.seed === 'random') ctx.addIssue({ code: 'custom', path: [], message: '--shard needs an explicit --seed, the same on every shard, so that the shards split one campaign' });
  });

/** Output flags shared by replay and scenario, and the combinations they allow. */
const outputShape = {
  format: formatSchema.default('text'),
  out: z.string().min(1).optional(),
  host: z.string().min(1).optional(),
  csv: z.string().min(1).optional(),
  perConnection: z.boolean().default(false),
};

type OutputShape = z.output<z.ZodObject<typeof outputShape>>;

function checkOutput(o: OutputShape, ctx: z.RefinementCtx): void {
  if (o.format === 'pcap' && o.out === undefined) ctx.addIssue({ code: 'custom', path: [], message: '--format pcap writes a binary capture: give the file with --out FILE' });
  if (o.host !== undefined && o.format !== 'pcap') ctx.addIssue({ code: 'custom', path: [], message: '--host applies to --format pcap only' });
  if (o.perConnection && o.csv === undefined) ctx.addIssue({ code: 'custom', path: [], message: '--per-connection needs --csv FILE' });
}

const replayOptionsSchema = z
  .object({
    ...outputShape,
    report: z.string().min(1).optional(),
    from: z.string().min(1).optional(),
    suite: suiteNameSchema.optional(),
    seed: seedSchema.optional(),
    path: pathSchema.optional(),
    endpoint: endpointNameSchema.optional(),
    profile: profileSchema.optional(),
  })
  .superRefine((o, ctx) => {
    checkOutput(o, ctx);
    if (o.from !== undefined) {
      if (o.suite !== undefined || o.seed !== undefined || o.path !== undefined || o.endpoint !== undefined) ctx.addIssue({ code: 'custom', path: [], message: 'give either --from FILE or --suite, --seed and --path, not both' });
      return;
    }
    const missing = (['suite', 'seed', 'path'] as const).filter((k) => o[k] === undefined);
    if (missing.length > 0) ctx.addIssue({ code: 'custom', path: [], message: `replay needs ${missing.map((k) => `--${k}`).join(', ')} (or --from FILE)` });
  });

const scenarioOptionsSchema = z.object({ ...outputShape, endpoint: endpointNameSchema.optional(), profile: profileSchema.optional() }).superRefine(checkOutput);

const packetdrillOptionsSchema = z
  .object({
    format: formatSchema.default('text'),
    out: z.string().min(1).optional(),
    csv: z.string().min(1).optional(),
    report: z.string().min(1).optional(),
    endpoint: endpointNameSchema.optional(),
    exact: z.boolean().default(false),
    lenient: z.boolean().default(false),
    verbose: z.boolean().default(false),
    fuzz: runsSchema.optional(),
    seed: seedSchema.optional(),
    path: pathSchema.optional(),
  })
  .superRefine((o, ctx) => {
    if (o.format === 'pcap' && o.out === undefined) ctx.addIssue({ code: 'custom', path: [], message: '--format pcap writes a binary capture: give the file with --out FILE' });
    if (o.path !== undefined && (o.fuzz === undefined || o.seed === undefined)) ctx.addIssue({ code: 'custom', path: [], message: '--path replays a fuzz counterexample: give --fuzz N and --seed S with it' });
  });
/** `--stack CMD` is `--endpoint stack:CMD`: one name for a stack through campaigns, CSVs and replays. */
function withStack(raw: Record<string, unknown>): Record<string, unknown> {
  if (raw.stack === undefined) return raw;
  if (raw.endpoint !== undefined && raw.endpoint !== 'reference') throw new UsageError('give either --stack COMMAND or --endpoint NAME, not both');
  const { stack, ...rest } = raw;
  // Checked before any work, like every other input: a command that cannot run is exit 2.
  try {
    probeExternalStack(String(stack));
  } catch (error) {
    if (error instanceof StackProcessError || error instanceof ProtocolError) throw new UsageError(`--stack: ${error.message}`);
    throw error;
  }
  return { ...rest, endpoint: `stack:${String(stack)}` };
}

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const env = () => parseOrThrow(envSchema, { TIMEWAIT_RUNS_SCALE: io.env.TIMEWAIT_RUNS_SCALE }, 'environment', flagName);
  const options = (schema: z.ZodType, input: unknown) => parseOrThrow(schema, input, '', flagName);

  const program = new Command('timewait')
    .description('Deterministic simulator and property tests for TCP connection lifecycles: three-way handshake, four-way close, TIME-WAIT, SO_REUSEADDR, SO_LINGER.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError('(timewait --help lists the commands; timewait COMMAND --help their options)')
    .allowExcessArguments(false);

  program
    .command('run')
    .description('run the property suites (all, or those named) and write reports/')
    .argument('[suites...]', 'suites to run (default: all; timewait list shows them)')
    .option('--runs <n>', 'runs per suite, instead of each suite\'s default (TIMEWAIT_RUNS_SCALE scales the defaults)')
    .option('--seed <seed>', 'campaign seed, or "random" (the default; printed first)')
    .option('--endpoint <name>', 'TCP implementation to test: reference, or a mutant (timewait list)', 'reference')
    .option('--stack <command>', 'an external stack to test instead: a command speaking docs/external-stack.md (e.g. native/lwip/build/timewait-lwip)')
    .option('--profile <profile>', 'monitor profile: rfc (RFC 9293 only; default for --stack) or linux (every monitor; default for the reference)')
    .option('--workers <n>', 'worker threads (default: available cores); results do not depend on it')
    .option('--shard <i/n>', 'run only shard i of n (counting from 0), for a CI matrix; needs --seed')
    .option('--csv <file>', 'CSV of one row per run (default: reports/campaign.csv)')
    .option('--per-connection', 'also write one row per connection (<csv>-connections.csv)')
    .option('--reports-dir <dir>', 'where reports go', 'reports')
    .option('--no-reports', 'write no files (except --csv)')
    .option('--no-store', 'neither retry nor record failing seeds (reports/failing-seeds.json)')
    .option('--no-timing', 'leave wall-clock figures out, so files compare byte for byte')
    .option('--report <dir>', 'also write DIR/report.html: summary, failures with ladder diagrams, campaign plots, state-diagram coverage')
    .action(async (suites: string[], raw: Record<string, unknown>) => {
      const o = options(runOptionsSchema, { ...withStack(raw), suites }) as z.output<typeof runOptionsSchema>;
      const { TIMEWAIT_RUNS_SCALE } = env();
      exitCode = await runCommand(
        {
          suites: o.suites,
          ...(o.runs !== undefined ? { runs: o.runs } : {}),
          ...(TIMEWAIT_RUNS_SCALE !== undefined ? { runsScale: TIMEWAIT_RUNS_SCALE } : {}),
          seed: o.seed,
          endpoint: o.endpoint,
          ...(o.profile !== undefined ? { profile: o.profile } : {}),
          ...(o.workers !== undefined ? { workers: o.workers } : {}),
          ...(o.shard !== undefined ? { shard: o.shard } : {}),
          ...(o.csv !== undefined ? { csv: o.csv } : {}),
          perConnection: o.perConnection,
          reportsDir: o.reportsDir,
          reports: o.reports,
          store: o.store,
          timing: o.timing,
          ...(o.report !== undefined ? { report: o.report } : {}),
        },
        io,
      );
    });

  program
    .command('list')
    .description('list the suites with the claims they check, the monitors, and the endpoints')
    .action(() => {
      exitCode = listCommand(io, env().TIMEWAIT_RUNS_SCALE);
    });

  const outputFlags = (command: Command) =>
    command
      .addOption(new Option('--format <format>', 'text (tcpdump style), json (one object per line) or pcap').default('text'))
      .option('--out <file>', 'write the trace to a file (required for pcap)')
      .option('--host <name>', 'pcap: capture one host\'s interface instead of the wire')
      .option('--csv <file>', 'write the run\'s statistics row')
      .option('--per-connection', 'with --csv, also one row per connection');

  outputFlags(
    program
      .command('replay')
      .description('reproduce one run exactly and print its trace')
      .option('--suite <name>', 'suite of the run')
      .option('--seed <seed>', 'fast-check seed (the CSV\'s seed column)')
      .option('--path <path>', 'fast-check path (the CSV\'s path column, or a shrunk path like 3:0:1)')
      .option('--endpoint <name>', 'endpoint the run used (default reference)')
      .option('--stack <command>', 'the external stack the run used (docs/external-stack.md)')
      .option('--profile <profile>', 'monitor profile: rfc (RFC 9293 only; default for --stack) or linux (every monitor; default for the reference)')
      .option('--from <file>', 'a saved counterexample (reports/counterexample-….json) instead of --suite/--seed/--path')
      .option('--report <dir>', 'also write DIR/report.html: the run\'s ladder diagram (violation marked), its figures and edges'),
  ).action((raw: Record<string, unknown>) => {
    const o = options(replayOptionsSchema, withStack(raw)) as z.output<typeof replayOptionsSchema>;
    const source: ReplaySource = o.from !== undefined ? { from: o.from } : { suite: o.suite!, seed: o.seed!, path: o.path!, endpoint: o.endpoint ?? 'reference', ...(o.profile !== undefined ? { profile: o.profile } : {}) };
    exitCode = replayCommandHandler(source, { ...outputOptions(o), ...(o.report !== undefined ? { report: o.report } : {}) }, io);
  });

  outputFlags(
    program
      .command('scenario')
      .description('run a scenario file: hosts, link faults and scripts of socket calls with expected results')
      .argument('<file>', 'scenario file (JSON; see docs/cli.md and examples/)')
      .option('--endpoint <name>', 'TCP implementation to run (default reference)')
      .option('--stack <command>', 'an external stack to run instead (docs/external-stack.md)')
      .option('--profile <profile>', 'monitor profile: rfc (RFC 9293 only; default for --stack) or linux (every monitor; default for the reference)'),
  ).action((file: string, raw: Record<string, unknown>) => {
    const o = options(scenarioOptionsSchema, withStack(raw)) as z.output<typeof scenarioOptionsSchema>;
    exitCode = scenarioCommandHandler(file, { ...outputOptions(o), ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}), ...(o.profile !== undefined ? { profile: o.profile } : {}) }, io);
  });

  // packetdrill scripts (src/cli/packetdrill.ts, issue #11).
  program
    .command('packetdrill')
    .description('run packetdrill scripts on the simulated stack, exactly in virtual time; --fuzz N perturbs the injected packets and lets the monitors judge')
    .argument('<files...>', 'packetdrill scripts (.pkt; the subset in docs/cli.md)')
    .option('--endpoint <name>', 'TCP implementation to run (default reference)')
    .option('--stack <command>', 'an external stack to run the scripts against (docs/external-stack.md); judged by the rfc monitor profile')
    .option('--exact', 'tolerance 0: every packet at exactly its script time')
    .option('--lenient', 'skip lines the simulator does not model (and list them) instead of failing the script')
    .option('--fuzz <n>', 'run each script N times with seeded perturbations of the injected packets; only the monitors judge')
    .option('--seed <seed>', 'fuzz seed (default 1)')
    .option('--path <path>', 'with --fuzz and --seed: replay one shrunk counterexample')
    .option('--verbose', 'print the notes and trace of passing scripts too')
    .option('--format <format>', 'text, json (one object per script) or pcap (one script, needs --out)', 'text')
    .option('--out <file>', 'write the results (or the capture) to a file')
    .option('--csv <file>', 'one row per script')
    .option('--report <dir>', 'also write DIR/packetdrill.html with a ladder diagram per script')
    .action((files: string[], raw: Record<string, unknown>) => {
      const o = options(packetdrillOptionsSchema, withStack(raw)) as z.output<typeof packetdrillOptionsSchema>;
      exitCode = packetdrillCommand(
        files,
        {
          format: o.format,
          exact: o.exact,
          lenient: o.lenient,
          verbose: o.verbose,
          ...(o.out !== undefined ? { out: o.out } : {}),
          ...(o.csv !== undefined ? { csv: o.csv } : {}),
          ...(o.report !== undefined ? { report: o.report } : {}),
          ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}),
          ...(o.fuzz !== undefined ? { fuzz: o.fuzz } : {}),
          ...(o.seed !== undefined ? { seed: o.seed } : {}),
          ...(o.path !== undefined ? { path: o.path } : {}),
        },
        io,
      );
    });

  program
    .command('merge')
    .description('join the CSV files of a sharded campaign (timewait run --shard i/n) into one')
    .argument('<files...>', 'CSV files written by the shards')
    .option('--out <file>', 'merged file', 'reports/campaign.csv')
    .action((files: string[], raw: { out?: string }) => {
      exitCode = mergeCommand(files, raw.out, io);
    });

  program
    .command('stack-check')
    .description('check that external stacks speak docs/external-stack.md: lifecycle, segments, refused connect, determinism')
    .argument('<commands...>', 'each a command line that starts a stack (quote it: \'native/lwip/build/timewait-lwip\')')
    .action((commands: string[]) => {
      exitCode = stackCheckCommand(commands, io);
    });

  // `check FILE.pcap` and `kernel FILE.json` (src/kernel): registered in wire-commands.ts.
  registerWireCommands(program, io, (code) => (exitCode = code));

  try {
    if (argv.length === 0) {
      io.stderr.write(program.helpInformation());
      return EXIT.usage;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    if (error instanceof UsageError) {
      io.stderr.write(`timewait: ${error.message.split('\n').join('\ntimewait: ')}\n`);
      return EXIT.usage;
    }
    // An external stack that will not start or dies cannot be judged: the run cannot go on, as
    // for any input that cannot be used (exit 2), and the message says what the process did.
    if (error instanceof StackProcessError) {
      io.stderr.write(`timewait: --stack: ${error.message.split('\n').join('\ntimewait: ')}\n`);
      return EXIT.usage;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`timewait: internal error: ${message}\n`);
    if (io.env.TIMEWAIT_DEBUG !== undefined && error instanceof Error && error.stack !== undefined) io.stderr.write(`${error.stack}\n`);
    else io.stderr.write('(this is a bug in timewait; TIMEWAIT_DEBUG=1 prints the stack)\n');
    return EXIT.internal;
  }
}

function outputOptions(o: OutputShape): OutputOptions {
  return {
    format: o.format,
    perConnection: o.perConnection,
    ...(o.out !== undefined ? { out: o.out } : {}),
    ...(o.host !== undefined ? { host: o.host } : {}),
    ...(o.csv !== undefined ? { csv: o.csv } : {}),
  };
}
