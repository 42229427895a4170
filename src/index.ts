/**
 * timewait as a library: everything the command line does, importable, so you can write your
 * own properties in your own vitest suites (docs/cli.md, "Library use").
 */

// The command line itself (in-process: main(argv, io) returns the exit code).
export { main, VERSION } from './cli/main.js';
export type { CliIo, Output } from './cli/io.js';

// Campaigns: run suites, chunk by chunk, as `timewait run` does.
export { runSuite, runSuites, statisticsRows, type RunSuitesOptions } from './cli/library.js';
export { CHUNK_RUNS, chunkSeed, planCampaign, runCampaign, runChunk, specAt, describeFailure } from './cli/campaign.js';
export type { CampaignPlan, CampaignResult, ChunkResult, ChunkTask, FailureRecord, PlanOptions, RunCampaignOptions, SuitePlan } from './cli/campaign.js';

// Replays and traces.
export { replayRun, replayText, replayJson, replayCommand, replayRows, type ReplayResult, type ReplayTarget } from './cli/replay.js';
export { traceText, traceJsonLines, tracePcap, eventJson, type TraceFormat } from './cli/trace-output.js';

// Scenario files.
export { scenarioSchema, parseScenario, runScenario, scenarioMonitorContext, type ScenarioFile, type ScenarioResult, type Mismatch } from './scenario/scenario-file.js';
export { loadScenarioFile } from './cli/fs.js';
export { scenarioText, scenarioJson } from './cli/commands.js';

// Statistics rows and CSV.
export { RUN_COLUMNS, CONNECTION_COLUMNS, runRow, connectionRows, figuresOf, type RunRow, type ConnectionRow, type RowOrigin, type Column } from './cli/rows.js';
export { toCsv, parseCsv } from './cli/csv.js';
export { summarize, formatSummary, type SuiteSummary } from './cli/summary.js';
export { ENDPOINTS, endpointByName } from './cli/endpoints.js';
export { UsageError, EXIT } from './cli/errors.js';

// The building blocks: suites, generators, runs, monitors, endpoints, the simulated world.
export { SUITES, suiteByName, suiteArbitrary, checkRun, scaledRuns, type Suite } from './suites.js';
export { runSpecArb, faultPlanArb, type RunShape } from './scenario/arbitraries.js';
export { executeRun, monitorContextFor, type ExecuteOptions, type RunOutcome } from './scenario/execute.js';
export { describeRunSpec, type RunSpec, type ConnectionSpec, type FaultPlan, type CloseOrder } from './scenario/spec.js';
export type { RunStats, ConnectionStats } from './scenario/stats.js';
export { createMonitors, describeMonitors, MonitorSet, type Monitor, type MonitorContext, type Violation } from './check/index.js';
export { formatFailure, formatViolation, traceAround } from './check/report.js';
export { MUTANTS, type Mutant } from './check/mutants.js';
export { REFERENCE_ENDPOINT, linuxBindConflicts, type Endpoint, type Connection } from './tcp/endpoint.js';
export { World, type WorldOptions } from './world/world.js';
// The scripted-peer seam: a remote end that sends hand-made segments and sees what a host sends.
export { ScriptedPeer, type PeerSegment, type ObservedSegment, type SegmentObserver } from './world/scripted-peer.js';
export { FIN, SYN, RST, PSH, ACK, segLen, formatSegment, tcpdumpFlags, type Segment } from './tcp/segment.js';
export type { Host, Result, SocketOption, Socket } from './tcp/host.js';
export type { Fabric, Datagram, DatagramReceiver, FabricObserver } from './net/fabric.js';
export { stackConfig, LINUX_DEFAULTS, type StackConfig } from './tcp/config.js';
export { parseIpv4, formatIpv4 } from './net/address.js';
export type { RunEnd, RunLimits } from './sim/scheduler.js';

// packetdrill scripts (src/packetdrill): parse, run exactly in virtual time, fuzz.
export { parseScript, ScriptSyntaxError } from './packetdrill/parser.js';
export { runScript, liveOptionsOf, HOST_IP, PEER_IP, type RunScriptOptions, type ScriptResult, type ScriptFailure, type Perturbation } from './packetdrill/runner.js';
export { runFuzz, perturbationsArb, describePerturbation, type FuzzOptions, type FuzzResult } from './packetdrill/fuzz.js';
export type { Script, ScriptEvent, PacketSpec, SyscallSpec, TcpOptionSpec } from './packetdrill/ast.js';
export { packetdrillCommand } from './cli/packetdrill.js';
export { runPrograms, type ProgramSpec } from './world/run-script.js';
export type { Call, ProgramStep } from './world/program.js';
export { TraceRecorder, formatEvent, formatWireTrace, type TraceEvent, type TraceListener } from './world/trace.js';
export { linkFaults, type LinkFaults } from './net/faults.js';
export { pcapOfWire, pcapForHost } from './report/pcap.js';
// The host-level seam and external stacks in any language (docs/external-stack.md).
export type { Stack, StackEnv, StackFactory, StackParams, ConnectionView } from './tcp/stack.js';
export { referenceStack, REFERENCE_STACK } from './tcp/reference-stack.js';
export { externalStack, type ExternalStackFactory } from './stack/external.js';
export { checkStack, type StackCheckResult } from './stack/check.js';
export { encodeIpv4Tcp, decodeIpv4Tcp, type WireSegment } from './tcp/wire.js';
export { MONITOR_PROFILES, monitorInProfile, type MonitorProfile } from './check/profiles.js';
