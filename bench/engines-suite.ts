import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startEngineService,
  type BenchService,
  type EngineComparison,
} from './engines-common.ts';
import {
  benchmarkHtmlToPdf,
  benchmarkWordToPdf,
  type DocumentBenchOptions,
} from './engines-documents.ts';
import { benchmarkPdfEngines, type PdfBenchOptions } from './engines-pdf.ts';
import {
  benchmarkVideoTools,
  type VideoBenchOptions,
} from './engines-video.ts';

/** Run counts and inputs of every engine benchmark. */
export interface EngineSuiteOptions {
  word: DocumentBenchOptions;
  html: DocumentBenchOptions;
  pdf: PdfBenchOptions;
  video: VideoBenchOptions;
}

/**
 * Runs the engine benchmarks one after the other against one in-process
 * service (API and worker) on a fresh data directory, which it removes
 * afterwards together with every fixture.
 */
export async function benchmarkEngines(
  options: EngineSuiteOptions,
): Promise<EngineComparison[]> {
  const root = await mkdtemp(join(tmpdir(), 'boringkit-bench-engines-'));
  let bench: BenchService | undefined;
  try {
    const dataDir = join(root, 'data');
    const workDir = join(root, 'work');
    await mkdir(dataDir);
    await mkdir(workDir);
    bench = await startEngineService(dataDir);
    const { client } = bench;

    const results: EngineComparison[] = [];
    results.push(await benchmarkWordToPdf(client, workDir, options.word));
    results.push(await benchmarkHtmlToPdf(client, workDir, options.html));
    results.push(...(await benchmarkPdfEngines(client, workDir, options.pdf)));
    results.push(
      ...(await benchmarkVideoTools(client, workDir, options.video)),
    );
    return results;
  } finally {
    await bench?.service.close();
    await rm(root, { recursive: true, force: true });
  }
}

function formatRatio(comparison: EngineComparison): string {
  const { ratio } = comparison;
  return ratio < 1
    ? `${ratio} (${(1 / ratio).toFixed(1)}x faster)`
    : `${ratio} (${ratio.toFixed(2)}x the time)`;
}

function printDetails(details: Record<string, unknown>): void {
  const phases = details.apiPhases as
    Record<string, { medianMs: number }> | undefined;
  if (phases) {
    const parts = Object.entries(phases).map(
      ([name, summary]) => `${name} ${summary.medianMs}`,
    );
    console.log(`  job phases, medians: ${parts.join(', ')}`);
  }
  if (typeof details.inputCheckMs === 'number') {
    console.log(
      '  bare input check (ffprobe, then a packet read and a 2 s decode ' +
        `side by side): median ${details.inputCheckMs} ms`,
    );
  }
  if (typeof details.runnerMedianMs === 'number') {
    console.log(
      `  runner alone on the local clip: median ${details.runnerMedianMs} ` +
        `ms, ratio ${String(details.runnerRatio)} to the bare command`,
    );
  }
  if (typeof details.onePageMedianMs === 'number') {
    console.log(
      `  runner on a 1-page PDF: median ${details.onePageMedianMs} ms`,
    );
  }
}

/** Prints each comparison with its medians, ratio and targets. */
export function printEngineComparisons(results: EngineComparison[]): void {
  console.log('\nEngines: service / bare engine, ratio of medians (ms)');
  for (const result of results) {
    const { service, direct } = result;
    const runs =
      `${service.runs} runs each after ${result.warmupRuns} ` + 'warm-up runs';
    console.log(`\n${result.name} (${runs})`);
    console.log(
      `  service: ${result.subject}: median ${service.medianMs}, ` +
        `p90 ${service.p90Ms}, min ${service.minMs}, max ${service.maxMs}`,
    );
    console.log(
      `  baseline: ${result.baseline}: median ${direct.medianMs}, ` +
        `p90 ${direct.p90Ms}, min ${direct.minMs}, max ${direct.maxMs}`,
    );
    console.log(
      `  ratio ${formatRatio(result)}; target ${result.target.label} ` +
        `(ratio <= ${result.target.maxRatio}): ${result.met ? 'met' : 'MISSED'}`,
    );
    printDetails(result.details);
    for (const extra of result.extraTargets) {
      console.log(`  target ${extra.label}: ${extra.met ? 'met' : 'MISSED'}`);
    }
  }
}
