/**
 * Builds the `<boringkit-job>` widget with esbuild into widget/dist/:
 *
 * - boringkit-job.js: one self-contained, minified ES module with Lit
 *   inside, which the service serves at GET /widget/boringkit-job.js;
 * - lib/boringkit-job.js: an ES module that imports Lit, for pages that
 *   already ship Lit (Lit is a peer dependency in widget/package.json);
 * - demo.js and index.html: the demo page that `npm start` serves at /.
 *
 * NOTE: no TypeScript declarations are emitted for lib/, so TypeScript
 * pages that import it see the element as `any` until they are.
 *
 * The service runs ensureWidgetBuilt() at start, which rebuilds only when a
 * source, this script or the Lit or esbuild version changed since the last
 * build. `npm run build:widget` builds unconditionally.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, version as esbuildVersion, type BuildOptions } from 'esbuild';

const WIDGET_DIR = dirname(fileURLToPath(import.meta.url));

/** Default output directory, which the service serves the widget from. */
export const WIDGET_DIST_DIR = join(WIDGET_DIR, 'dist');

/** File names inside the output directory. */
export const WIDGET_FILES = {
  bundle: 'boringkit-job.js',
  library: 'lib/boringkit-job.js',
  demoScript: 'demo.js',
  demoPage: 'index.html',
  stamp: 'build-stamp.json',
} as const;

const SOURCE_DIRS = ['src', 'demo'];
const LIT_PACKAGES = [
  'lit',
  'lit-html',
  'lit-element',
  '@lit/reactive-element',
];

/** The browsers the builds target: those with ElementInternals forms. */
const BROWSER_TARGETS = ['chrome111', 'edge111', 'firefox111', 'safari16.4'];

const COMMON: BuildOptions = {
  bundle: true,
  format: 'esm',
  target: BROWSER_TARGETS,
  sourcemap: 'linked',
  write: false,
  logLevel: 'silent',
  legalComments: 'eof',
  // Lit's decorators need these, whatever tsconfig.json a checkout has.
  tsconfigRaw: {
    compilerOptions: {
      experimentalDecorators: true,
      useDefineForClassFields: false,
    },
  },
};

async function listFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, {
    recursive: true,
    withFileTypes: true,
  });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

// Lit's packages do not export their package.json, so it is read from disk.
async function packageVersion(name: string): Promise<string> {
  const manifest = join(
    dirname(WIDGET_DIR),
    'node_modules',
    name,
    'package.json',
  );
  try {
    const { version } = JSON.parse(await readFile(manifest, 'utf8')) as {
      version: string;
    };
    return version;
  } catch {
    return 'missing';
  }
}

/**
 * Hashes everything the build output depends on: the widget's sources and
 * demo, this script, and the versions of esbuild and the Lit packages.
 */
export async function sourceHash(): Promise<string> {
  const hash = createHash('sha256');
  const files = [fileURLToPath(import.meta.url)];
  for (const directory of SOURCE_DIRS) {
    files.push(...(await listFiles(join(WIDGET_DIR, directory))));
  }
  for (const file of files) {
    hash.update(relative(WIDGET_DIR, file)).update('\0');
    hash.update(await readFile(file)).update('\0');
  }
  hash.update(`esbuild ${esbuildVersion}\0`);
  for (const name of LIT_PACKAGES) {
    hash.update(`${name} ${await packageVersion(name)}\0`);
  }
  return hash.digest('hex');
}

/**
 * Writes a file through a temporary name and a rename, so a service that
 * reads it, or a second build at the same time, never reads a partly
 * written file.
 */
async function writeAtomically(path: string, contents: Uint8Array) {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${randomUUID()}.tmp`;
  await writeFile(temporary, contents);
  await rename(temporary, path);
}

/** Builds every output into `outDir` and stamps it with the source hash. */
export async function buildWidget(outDir = WIDGET_DIST_DIR): Promise<void> {
  const hash = await sourceHash();
  const entry = join(WIDGET_DIR, 'src/index.ts');
  const results = await Promise.all([
    build({
      ...COMMON,
      entryPoints: [entry],
      outfile: join(outDir, WIDGET_FILES.bundle),
      minify: true,
    }),
    build({
      ...COMMON,
      entryPoints: [entry],
      outfile: join(outDir, WIDGET_FILES.library),
      external: ['lit', 'lit/*', '@lit/*'],
    }),
    build({
      ...COMMON,
      entryPoints: [join(WIDGET_DIR, 'demo/demo.ts')],
      outfile: join(outDir, WIDGET_FILES.demoScript),
    }),
  ]);

  for (const result of results) {
    for (const output of result.outputFiles ?? []) {
      await writeAtomically(output.path, output.contents);
    }
  }
  await writeAtomically(
    join(outDir, WIDGET_FILES.demoPage),
    await readFile(join(WIDGET_DIR, 'demo/index.html')),
  );
  // Written last: a stamp exists only beside complete outputs.
  const stamp = JSON.stringify({ sourceHash: hash }, null, 2);
  await writeAtomically(
    join(outDir, WIDGET_FILES.stamp),
    new TextEncoder().encode(`${stamp}\n`),
  );
}

/** Reports whether `outDir` contains a build of the current sources. */
export async function isWidgetBuildFresh(
  outDir = WIDGET_DIST_DIR,
): Promise<boolean> {
  let stamped: string | undefined;
  try {
    const stamp = await readFile(join(outDir, WIDGET_FILES.stamp), 'utf8');
    stamped = (JSON.parse(stamp) as { sourceHash?: string }).sourceHash;
  } catch {
    return false;
  }
  return stamped === (await sourceHash());
}

/** Builds the widget unless `outDir` already contains a fresh build. */
export async function ensureWidgetBuilt(
  outDir = WIDGET_DIST_DIR,
): Promise<'fresh' | 'built'> {
  if (await isWidgetBuildFresh(outDir)) return 'fresh';
  await buildWidget(outDir);
  return 'built';
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const outDir = process.argv[2] ?? WIDGET_DIST_DIR;
  buildWidget(outDir).then(
    () => console.log(`Built the widget into ${outDir}`),
    (error: unknown) => {
      console.error('Building the widget failed:', error);
      process.exit(1);
    },
  );
}
