import { mkdir, writeFile } from 'node:fs/promises';
import {
  availableParallelism,
  cpus,
  loadavg,
  release,
  totalmem,
} from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { benchmarkEngines, printEngineComparisons } from './engines-suite.ts';
import { benchmarkEventStore, type EventStoreResult } from './eventstore.ts';
import { benchmarkLifecycle, type LifecycleResult } from './lifecycle.ts';
import { benchmarkReplay, type ReplayResult } from './replay.ts';
import { round, type DurationSummary } from './stats.ts';

const RESULTS_PATH = join(
  dirname(fileURLToPath(import.meta.url)),
  'results',
  'latest.json',
);

function describeMachine() {
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: round(totalmem() / 2 ** 30),
    node: process.version,
    kernel: release(),
  };
}

/** Reports the versions of the native libraries that do the measured work. */
function describeSoftware() {
  const db = new Database(':memory:');
  const sqlite = db
    .prepare<[], { version: string }>('SELECT sqlite_version() AS version')
    .get()?.version;
  db.close();
  return {
    sharp: sharp.versions.sharp,
    libvips: sharp.versions.vips,
    sqlite,
  };
}

function loadAverage(): number[] {
  return loadavg().map((value) => round(value, 2));
}

function printTable(title: string, rows: (string | number)[][]): void {
  const widths = rows[0]!.map((_, column) =>
    Math.max(...rows.map((row) => String(row[column]).length)),
  );
  const line = (row: (string | number)[]) =>
    row
      .map((cell, column) =>
        typeof cell === 'number'
          ? String(cell).padStart(widths[column]!)
          : cell.padEnd(widths[column]!),
      )
      .join('  ');
  console.log(`\n${title}`);
  console.log(line(rows[0]!));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of rows.slice(1)) console.log(line(row));
}

function durationRow(name: string, summary: DurationSummary) {
  return [name, summary.medianMs, summary.p90Ms, summary.minMs, summary.maxMs];
}

function printLifecycle(result: LifecycleResult): void {
  const { input, apiPhases: phases } = result;
  console.log(
    `\nInput PNG: ${input.bytes} bytes, ${input.width} x ${input.height}. ` +
      `Output JPEG: ${result.outputBytes} bytes, identical to the direct ` +
      `output: ${result.outputsIdentical ? 'yes' : 'NO'}.`,
  );
  printTable(
    `image-compress-api, ${result.api.runs} runs after ` +
      `${result.warmupRuns} warm-up runs (ms)`,
    [
      ['run', 'median', 'p90', 'min', 'max'],
      durationRow('API: create, upload, poll, download', result.api),
      durationRow('direct sharp pipeline', result.direct),
      durationRow('  API create (POST /v1/jobs)', phases.createMs),
      durationRow('  API upload (PUT)', phases.uploadMs),
      durationRow('  API wait until succeeded', phases.waitMs),
      durationRow('  API download (intent + GET)', phases.downloadMs),
      durationRow('  server: uploaded to started', phases.uploadToStartMs),
      durationRow('  server: started to succeeded', phases.attemptMs),
      durationRow('  succeeded to seen by poll', phases.successSeenMs),
    ],
  );
  console.log(
    `API / direct (medians): ${result.ratioOfMedians}x, ` +
      `+${result.overheadOfMediansMs} ms; polling every ` +
      `${result.pollIntervalMs} ms.`,
  );
}

function printEventStore(result: EventStoreResult): void {
  const { connection } = result;
  const row = (name: string, run: EventStoreResult['single']) => [
    name,
    run.appends,
    run.events,
    run.streams,
    run.elapsedMs,
    run.appendsPerSecond,
    run.eventsPerSecond,
  ];
  printTable(
    `SQLite appends (journal_mode=${connection.journalMode}, ` +
      `synchronous=${connection.synchronous})`,
    [
      ['case', 'appends', 'events', 'streams', 'ms', 'appends/s', 'events/s'],
      row('1 event per append', result.single),
      row(
        `${result.batched.eventsPerAppend} events per append`,
        result.batched,
      ),
    ],
  );
}

function printReplay(result: ReplayResult): void {
  printTable(`Read-model rebuild (${result.rebuildMs.length} rebuilds)`, [
    ['events', 'jobs', 'median ms', 'all ms', 'events/s'],
    [
      result.events,
      result.jobs,
      result.medianRebuildMs,
      result.rebuildMs.join(', '),
      result.eventsPerSecond,
    ],
  ]);
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadBefore = loadAverage();
  const machine = describeMachine();
  const software = describeSoftware();
  console.log(
    `${machine.cpuModel}, ${machine.cpus} CPUs, ${machine.memoryGiB} GiB, ` +
      `Node ${machine.node}, sharp ${software.sharp} (libvips ` +
      `${software.libvips}), SQLite ${software.sqlite}, load average ` +
      loadBefore.join(' '),
  );

  const lifecycle = await benchmarkLifecycle({
    width: 1000,
    height: 600,
    warmupRuns: 3,
    measuredRuns: 30,
    pollIntervalMs: 20,
  });
  printLifecycle(lifecycle);

  const eventStore = await benchmarkEventStore(
    { appends: 2_000, eventsPerAppend: 1, streams: 200 },
    { appends: 200, eventsPerAppend: 100, streams: 20 },
  );
  printEventStore(eventStore);

  const replay = await benchmarkReplay({
    targetEvents: 20_000,
    workspaces: 10,
    rebuilds: 5,
  });
  printReplay(replay);

  const engines = await benchmarkEngines({
    word: { warmupRuns: 2, measuredRuns: 10, pollIntervalMs: 10 },
    html: { warmupRuns: 2, measuredRuns: 10, pollIntervalMs: 10 },
    pdf: { pages: 10, warmupRuns: 2, measuredRuns: 8 },
    video: {
      seconds: 60,
      width: 1280,
      height: 720,
      warmupRuns: 1,
      measuredRuns: 3,
      pollIntervalMs: 20,
    },
  });
  printEngineComparisons(engines);

  const elapsedSeconds = round((Date.now() - startedAt.getTime()) / 1000);
  const results = {
    startedAt: startedAt.toISOString(),
    elapsedSeconds,
    machine,
    software,
    loadAverage: { before: loadBefore, after: loadAverage() },
    lifecycle,
    eventStore,
    replay,
    engines,
  };
  await mkdir(dirname(RESULTS_PATH), { recursive: true });
  await writeFile(RESULTS_PATH, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nDone in ${elapsedSeconds} s. Raw results: ${RESULTS_PATH}`);
}

await main();
