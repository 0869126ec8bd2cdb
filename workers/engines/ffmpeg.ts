import type { ChildProcess } from 'node:child_process';
import { isExecutable } from './executable.ts';
import { delimiter, join } from 'node:path';
import ffmpeg, { type FfmpegCommand } from 'fluent-ffmpeg';
import { InvalidInputError, type EngineStatus } from '../tool.ts';
import {
  killOnExit,
  runInOwnProcessGroup,
  type ChildResult,
} from './child-process.ts';

/** Demuxers for video inputs: MP4 and QuickTime share `mov`, WebM `matroska`. */
export const VIDEO_DEMUXERS: readonly string[] = ['mov', 'matroska'];

/**
 * Seconds of the input that {@link checkInputIntegrity} decodes. Damage to
 * the picture data after them passes the check, while truncation anywhere
 * fails it.
 */
const DECODE_CHECK_SECONDS = 2;

const PROBE_MAX_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * Lines that `-progress pipe:2` writes, such as `out_time_us=1500000` and
 * `bitrate= 480.5kbits/s`.
 */
const PROGRESS_LINE = /^[a-z_]+= *\S*$/;

/** Summary of a media file as ffprobe reads it. */
export interface MediaProbe {
  /** ffprobe's demuxer name list, such as `mov,mp4,m4a,3gp,3g2,mj2`. */
  formatName: string;
  durationSeconds: number;
  video?: { codec: string; width: number; height: number; fps: number };
  audio?: { codec: string };
}

/** Settings of {@link probe}. */
export interface ProbeOptions {
  /** Demuxers allowed to open the file (default {@link VIDEO_DEMUXERS}). */
  demuxers?: readonly string[];
  /** Whether a file without a video stream is accepted (default false). */
  allowNoVideo?: boolean;
}

/** Settings of one {@link runFfmpeg} call. */
export interface FfmpegRunOptions {
  /** Local input file, opened with only the `file` protocol allowed. */
  inputPath: string;
  /** Options placed before `-i`, such as `-ss`. */
  inputOptions?: readonly string[];
  /** Demuxers allowed to open the input (default {@link VIDEO_DEMUXERS}). */
  demuxers?: readonly string[];
  /** Kills ffmpeg with SIGKILL at once when aborted. */
  signal: AbortSignal;
  /** Duration of the output, the base of the progress percentage. */
  expectedDurationSeconds: number;
  /** Receives progress from 0 to 100. */
  onProgress?: (percent: number) => void;
}

function findExecutable(name: string, override?: string): string | undefined {
  const candidates = override
    ? [override]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((directory) => join(directory, name));
  return candidates.find(isExecutable);
}

function ffmpegPath(): string {
  return findExecutable('ffmpeg', process.env.FFMPEG_PATH) ?? 'ffmpeg';
}

function ffprobePath(): string {
  return findExecutable('ffprobe', process.env.FFPROBE_PATH) ?? 'ffprobe';
}

/**
 * Reports whether the ffmpeg and ffprobe executables are present, on PATH or
 * at `FFMPEG_PATH` and `FFPROBE_PATH`. It runs neither.
 */
export function ffmpegStatus(): EngineStatus {
  const executables: [string, string | undefined][] = [
    ['ffmpeg', process.env.FFMPEG_PATH],
    ['ffprobe', process.env.FFPROBE_PATH],
  ];
  const missing = executables
    .filter(([name, override]) => !findExecutable(name, override))
    .map(([name, override]) => override ?? `${name} on PATH`);
  if (missing.length === 0) {
    return { available: true };
  }
  return {
    available: false,
    reason:
      `No executable found for ${missing.join(' and ')}. Install Debian's ` +
      'ffmpeg package or set FFMPEG_PATH and FFPROBE_PATH.',
  };
}

/**
 * Input options that let ffmpeg open only the local file with one of
 * `demuxers`: no network protocols, playlists or concat lists.
 */
function safeInputOptions(demuxers: readonly string[]): string[] {
  return [
    '-protocol_whitelist',
    'file',
    '-format_whitelist',
    demuxers.join(','),
  ];
}

/** Returns the last line of ffmpeg's stderr that is not a progress line. */
function lastErrorLine(stderr: string): string {
  const lines = stderr
    .split(/\r\n|\r|\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !PROGRESS_LINE.test(line));
  return lines.at(-1) ?? 'no error output';
}

/**
 * Runs ffprobe or ffmpeg in a process group of its own and resolves with its
 * output. A non-zero exit rejects with InvalidInputError because only the
 * input can make them fail here. An abort kills the child with SIGKILL and
 * rejects with the signal's reason once it exited.
 */
async function execMedia(
  file: string,
  args: string[],
  signal: AbortSignal,
): Promise<ChildResult> {
  const result = await runInOwnProcessGroup(file, args, {
    signal,
    maxBufferBytes: PROBE_MAX_BUFFER_BYTES,
  });
  if (result.code === 0) {
    return result;
  }
  if (result.code !== null) {
    throw new InvalidInputError(
      'The file is not a readable video: ' +
        `${lastErrorLine(result.stderr)}. It may be truncated or corrupt.`,
    );
  }
  throw new Error(`${file} was killed by ${result.signal}.`);
}

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  disposition?: { attached_pic?: number };
}

interface ProbeJson {
  streams?: ProbeStream[];
  format?: { format_name?: string; duration?: string };
}

/** Parses a rate such as `30000/1001`, or returns 0 when it is malformed. */
function parseRate(rate: string | undefined): number {
  const [numerator, denominator] = (rate ?? '').split('/').map(Number);
  if (!numerator || !denominator) {
    return 0;
  }
  return numerator / denominator;
}

function summarize(json: ProbeJson): MediaProbe {
  const streams = json.streams ?? [];
  // Cover art in MP4 and Matroska is a video stream of one attached picture.
  const video = streams.find(
    (stream) =>
      stream.codec_type === 'video' && stream.disposition?.attached_pic !== 1,
  );
  const audio = streams.find((stream) => stream.codec_type === 'audio');
  const durationSeconds = Number(
    json.format?.duration ?? video?.duration ?? audio?.duration,
  );
  if (!Number.isFinite(durationSeconds) || durationSeconds <= 0) {
    throw new InvalidInputError(
      'The file has no readable duration. It may be truncated or corrupt.',
    );
  }

  const summary: MediaProbe = {
    formatName: json.format?.format_name ?? 'unknown',
    durationSeconds,
  };
  if (video?.width && video.height) {
    summary.video = {
      codec: video.codec_name ?? 'unknown',
      width: video.width,
      height: video.height,
      fps: parseRate(video.avg_frame_rate) || parseRate(video.r_frame_rate),
    };
  }
  if (audio) {
    summary.audio = { codec: audio.codec_name ?? 'unknown' };
  }
  return summary;
}

/**
 * Reads the container, duration and first video and audio streams of a local
 * file with ffprobe. It rejects with InvalidInputError code `invalid_input`
 * for an unreadable file and `no_video_stream` for a file without video.
 * ffprobe accepts some truncated MP4s, which {@link checkInputIntegrity}
 * finds.
 */
export async function probe(
  path: string,
  signal: AbortSignal,
  options: ProbeOptions = {},
): Promise<MediaProbe> {
  signal.throwIfAborted();
  const inputOptions = safeInputOptions(options.demuxers ?? VIDEO_DEMUXERS);
  // The file: prefix keeps a name such as "concat:a|b" a plain path.
  const url = `file:${path}`;

  const { stdout } = await execMedia(
    ffprobePath(),
    [
      '-v',
      'error',
      ...inputOptions,
      '-print_format',
      'json',
      '-show_format',
      '-show_streams',
      url,
    ],
    signal,
  );
  const summary = summarize(JSON.parse(stdout) as ProbeJson);
  if (!summary.video && !options.allowNoVideo) {
    throw new InvalidInputError(
      'The file has no video stream. Send a video, not an audio file.',
      'no_video_stream',
    );
  }

  return summary;
}

/**
 * Reads every packet of a local file and decodes its first
 * {@link DECODE_CHECK_SECONDS} seconds, both with `-xerror`, in two ffmpeg
 * runs side by side. Reading finds a file truncated anywhere, even with its
 * index first, and decoding finds picture data that is not video. It
 * rejects with InvalidInputError code `invalid_input` on the first error.
 */
export async function checkInputIntegrity(
  path: string,
  signal: AbortSignal,
  demuxers: readonly string[] = VIDEO_DEMUXERS,
): Promise<void> {
  signal.throwIfAborted();
  const inputOptions = safeInputOptions(demuxers);
  const url = `file:${path}`;
  const strict = ['-nostdin', '-v', 'error', '-xerror', ...inputOptions];

  // One failed run stops the other, so the first error is the one reported.
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  const run = (args: string[]) =>
    execMedia(ffmpegPath(), [...strict, ...args], both).catch(
      (error: unknown) => {
        stop.abort(error);
        throw error;
      },
    );
  try {
    await Promise.all([
      run(['-i', url, '-map', '0', '-c', 'copy', '-f', 'null', '-']),
      run(['-t', String(DECODE_CHECK_SECONDS), '-i', url, '-f', 'null', '-']),
    ]);
  } catch (error) {
    signal.throwIfAborted();
    throw stop.signal.aborted ? stop.signal.reason : error;
  }
}

/** Parses the output time of one progress line, in seconds. */
function progressSeconds(line: string): number | undefined {
  const match = /^out_time_us=(\d+)$/.exec(line.trim());
  return match ? Number(match[1]) / 1_000_000 : undefined;
}

/** Private members of fluent-ffmpeg 2.1.3's FfmpegCommand used here. */
interface FfmpegCommandInternals {
  /** Spawns ffmpeg. `run()` calls it with fixed spawn options of its own. */
  _spawnFfmpeg?: (
    this: FfmpegCommand,
    args: string[],
    options: object,
    ...callbacks: unknown[]
  ) => void;
  /** The running ffmpeg, set just before the 'start' event. */
  ffmpegProc?: ChildProcess;
}

/**
 * Makes `command` spawn ffmpeg with `detached: true`, so that ffmpeg leads a
 * process group of its own and a Ctrl-C in the terminal does not reach it.
 * fluent-ffmpeg 2.1.3 cannot pass spawn options, so this wraps its private
 * `_spawnFfmpeg` on this one command.
 */
function spawnInOwnProcessGroup(command: FfmpegCommand): void {
  const internals = command as unknown as FfmpegCommandInternals;
  const spawnFfmpeg = internals._spawnFfmpeg;
  if (typeof spawnFfmpeg !== 'function') {
    throw new Error(
      'fluent-ffmpeg has no _spawnFfmpeg method. runFfmpeg needs ' +
        'fluent-ffmpeg 2.1.3; install that version.',
    );
  }
  // Every caller in fluent-ffmpeg 2.1.3 passes an options object.
  internals._spawnFfmpeg = function (args, options, ...callbacks) {
    spawnFfmpeg.call(this, args, { ...options, detached: true }, ...callbacks);
  };
}

/**
 * Runs one ffmpeg command through fluent-ffmpeg, in a process group of its
 * own. `build` adds the filters, output options and output file to a command
 * that already has the input.
 * Progress is the output time against `expectedDurationSeconds`, because
 * fluent-ffmpeg's percent is relative to the input and sometimes missing.
 * A failure rejects with the last line ffmpeg wrote to stderr. An abort kills
 * ffmpeg with SIGKILL and rejects with the signal's reason once it exited.
 * The caller must still check the output: ffmpeg can exit 0 and write an
 * empty or short file.
 */
export function runFfmpeg(
  build: (command: FfmpegCommand) => void,
  options: FfmpegRunOptions,
): Promise<void> {
  const { signal, expectedDurationSeconds, onProgress } = options;
  signal.throwIfAborted();

  const command = ffmpeg({ stdoutLines: 0 })
    .setFfmpegPath(ffmpegPath())
    .input(`file:${options.inputPath}`)
    .inputOptions([
      ...safeInputOptions(options.demuxers ?? VIDEO_DEMUXERS),
      ...(options.inputOptions ?? []),
    ]);
  build(command);
  spawnInOwnProcessGroup(command);
  command.outputOptions([
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostats',
    '-progress',
    'pipe:2',
  ]);

  return new Promise((resolve, reject) => {
    let started = false;
    let lastError = '';
    const kill = () => {
      if (started) {
        command.kill('SIGKILL');
      }
    };
    signal.addEventListener('abort', kill, { once: true });

    command.on('start', () => {
      started = true;
      const child = (command as unknown as FfmpegCommandInternals).ffmpegProc;
      if (child !== undefined) {
        killOnExit(child);
      }
      if (signal.aborted) {
        kill();
      }
    });
    command.on('stderr', (line: string) => {
      const seconds = progressSeconds(line);
      if (seconds === undefined) {
        if (line.trim() !== '' && !PROGRESS_LINE.test(line.trim())) {
          lastError = line.trim();
        }
      } else if (expectedDurationSeconds > 0) {
        const percent = (seconds / expectedDurationSeconds) * 100;
        onProgress?.(Math.max(0, Math.min(99, Math.floor(percent))));
      }
    });
    command.on('end', () => {
      signal.removeEventListener('abort', kill);
      onProgress?.(100);
      resolve();
    });
    command.on('error', (error: Error) => {
      signal.removeEventListener('abort', kill);
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const reason = lastError || error.message;
      reject(new Error(`ffmpeg failed: ${reason}`, { cause: error }));
    });
    command.run();
  });
}
