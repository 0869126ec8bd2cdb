// Brings a Debian 12 machine that has Node and apt up to what BoringKit Jobs
// needs: npm dependencies and the Debian packages of its engines. It runs
// before node_modules exists, so it uses nothing but Node's own modules, and
// it reaches the network only through npm and apt-get.
//
// Environment:
//   BORINGKIT_SKIP_APT=1        skip the Debian package step
//   BORINGKIT_SETUP_DRY_RUN=1   run the checks, print the commands instead
//
// Exits 1 only when the service cannot start: Node too old, npm failed or
// better-sqlite3 does not load. Missing Debian packages print the command to
// install them, and the service marks the tools of a missing engine
// unavailable.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  constants,
  existsSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Debian packages the engines and the tests need at run time. */
export const DEBIAN_PACKAGES = [
  'chromium', // html-to-pdf engine
  'fonts-dejavu-core', // fonts for rendering
  'poppler-utils', // pdftotext and pdfinfo, reference tools for tests
  'unzip', // reads the ZIPs of pdf-to-images-zip in tests
  'ffmpeg', // video engine: ffmpeg and ffprobe
  // Office engine, without the GUI that the recommended packages pull in.
  'libreoffice-writer-nogui',
  'libreoffice-calc-nogui',
  'libreoffice-impress-nogui',
  'python3-uno', // the UNO bridge to warm LibreOffice listeners
  'curl', // the README's walk-through
  'jq', // the README's walk-through
  // better-sqlite3 compiles from source when no prebuilt binary is
  // reachable, which needs these.
  'python3',
  'make',
  'g++',
];

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NODE_MODULES = path.join(ROOT, 'node_modules');
const STAMP_FILE = path.join(NODE_MODULES, '.boringkit-setup');
const DRY_RUN = process.env.BORINGKIT_SETUP_DRY_RUN === '1';

function step(name, outcome) {
  console.log(`setup: ${name} ... ${outcome}`);
}

function fail(name, message) {
  console.error(`setup: ${name} ... FAILED: ${message}`);
  process.exit(1);
}

/**
 * Runs a command with the terminal attached. Returns undefined on success,
 * else how it failed ("exited with 100"). A dry run only prints the command.
 */
function run(command, args, env = process.env) {
  if (DRY_RUN) {
    console.log(`setup: would run: ${[command, ...args].join(' ')}`);
    return undefined;
  }
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', env });
  if (result.error) return `could not start (${result.error.message})`;
  if (result.signal) return `was killed by ${result.signal}`;
  return result.status === 0 ? undefined : `exited with ${result.status}`;
}

function findOnPath(command) {
  for (const directory of (process.env.PATH ?? '').split(path.delimiter)) {
    if (directory === '') continue;
    try {
      accessSync(path.join(directory, command), constants.X_OK);
      return true;
    } catch {
      // Not in this directory.
    }
  }
  return false;
}

// package.json engines: ">=20.19 <21 || >=22".
function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  const supported = (major === 20 && minor >= 19) || major >= 22;
  if (!supported) {
    fail(
      'node',
      `Node ${process.versions.node} is not supported; ` +
        'install Node 20.19 or newer in the 20 line, or Node 22 or newer',
    );
  }
  step('node', `ok (${process.versions.node})`);
}

function hashFile(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * Returns why npm must install, or undefined when node_modules matches the
 * lockfile. It matches when the stamp contains the lockfile's hash, so a
 * checkout that only touches the lockfile costs nothing. It also matches
 * after an `npm install` by hand, which leaves npm's own record,
 * node_modules/.package-lock.json, at least as new as the lockfile. The
 * stamp is renewed then.
 */
function installReason(lockfile) {
  if (!existsSync(NODE_MODULES)) return 'node_modules is missing';

  const hash = hashFile(lockfile);
  const stamped = existsSync(STAMP_FILE)
    ? readFileSync(STAMP_FILE, 'utf8').trim()
    : undefined;
  if (stamped === hash) return undefined;

  const npmRecord = path.join(NODE_MODULES, '.package-lock.json');
  if (
    existsSync(npmRecord) &&
    statSync(npmRecord).mtimeMs >= statSync(lockfile).mtimeMs
  ) {
    writeStamp(hash);
    return undefined;
  }
  const name = path.basename(lockfile);
  return stamped === undefined
    ? `node_modules is older than ${name}`
    : `${name} changed since the last install`;
}

// The stamp only saves work on the next run, so failing to write it (a
// read-only node_modules) is not an error.
function writeStamp(hash) {
  if (DRY_RUN) return;
  try {
    writeFileSync(STAMP_FILE, `${hash}\n`);
  } catch {
    // Checked again by mtime on the next run.
  }
}

function installNpmDependencies() {
  const name = 'npm dependencies';
  const packageLock = path.join(ROOT, 'package-lock.json');
  const hasLock = existsSync(packageLock);
  const lockfile = hasLock ? packageLock : path.join(ROOT, 'package.json');

  const reason = installReason(lockfile);
  if (reason === undefined) {
    step(name, 'ok (already installed)');
    return;
  }

  // Without a lockfile, npm install writes one; npm ci refuses to run.
  const args = hasLock ? ['ci'] : ['install'];
  step(name, `installing with npm ${args[0]} (${reason})`);
  const problem = run('npm', args);
  if (problem !== undefined) {
    fail(name, `npm ${args[0]} ${problem}; see its output above`);
  }
  // npm install may have just written the lockfile.
  const installed = existsSync(packageLock) ? packageLock : lockfile;
  writeStamp(hashFile(installed));
}

/** Returns undefined when better-sqlite3 opens a database, else the error. */
function probeSqlite() {
  const probe = spawnSync(
    process.execPath,
    ['-e', "new (require('better-sqlite3'))(':memory:').close()"],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (probe.status === 0) return undefined;

  const lines = `${probe.stderr ?? ''}`.split('\n');
  return lines.find((line) => /Error/.test(line)) ?? probe.error?.message;
}

// better-sqlite3 compiles from source when no prebuilt binary fits, and a
// build for another Node version fails to load.
function checkSqlite() {
  const name = 'better-sqlite3';
  const error = probeSqlite();
  if (error === undefined) {
    step(name, 'ok (loads)');
    return;
  }

  step(name, `rebuilding, because it does not load: ${error}`);
  const problem = run('npm', ['rebuild', 'better-sqlite3']);
  if (problem !== undefined) {
    fail(name, `npm rebuild better-sqlite3 ${problem}; see its output above`);
  }

  const retry = DRY_RUN ? undefined : probeSqlite();
  if (retry !== undefined) {
    fail(name, `still does not load after a rebuild: ${retry}`);
  }
  step(name, DRY_RUN ? 'would rebuild' : 'ok (rebuilt)');
}

/** Returns the packages of `names` that dpkg does not list as installed. */
function missingDebianPackages(names) {
  const query = spawnSync(
    'dpkg-query',
    ['-W', '-f=${Package} ${Status}\\n', ...names],
    { encoding: 'utf8' },
  );
  // Each line is "name want flag state", as in "chromium install ok
  // installed"; a held package ("hold ok installed") is installed too.
  const installed = new Set();
  for (const line of `${query.stdout ?? ''}`.split('\n')) {
    const [pkg, , flag, state] = line.split(' ');
    if (flag === 'ok' && state === 'installed') installed.add(pkg);
  }
  return names.filter((name) => !installed.has(name));
}

function installDebianPackages() {
  const name = 'debian packages';
  if (process.env.BORINGKIT_SKIP_APT === '1') {
    step(name, 'skipped (BORINGKIT_SKIP_APT=1)');
    return;
  }
  if (!findOnPath('dpkg-query')) {
    step(
      name,
      'skipped (dpkg-query not found, so this is not Debian); ' +
        `install the equivalents of ${DEBIAN_PACKAGES.join(', ')}`,
    );
    return;
  }

  const missing = missingDebianPackages(DEBIAN_PACKAGES);
  if (missing.length === 0) {
    step(name, `ok (${DEBIAN_PACKAGES.join(', ')})`);
    return;
  }

  const installArgs = ['install', '-y', '--no-install-recommends', ...missing];
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !findOnPath('apt-get')) {
    step(
      name,
      `missing ${missing.join(', ')}; tools that need them stay unavailable ` +
        `until you run: sudo apt-get ${installArgs.join(' ')}`,
    );
    return;
  }

  step(name, `installing ${missing.join(', ')} with apt-get`);
  const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const updateProblem = run('apt-get', ['update'], aptEnv);
  if (updateProblem !== undefined) {
    console.log(`setup: apt-get update ${updateProblem}; installing anyway`);
  }
  const installProblem = run('apt-get', installArgs, aptEnv);
  if (DRY_RUN) {
    step(name, 'would install');
    return;
  }

  const stillMissing = missingDebianPackages(missing);
  if (stillMissing.length === 0) {
    step(name, `ok (installed ${missing.join(', ')})`);
    return;
  }
  step(
    name,
    `${stillMissing.join(', ')} still missing after apt-get install ` +
      `(${installProblem ?? 'exited with 0'}). Tools that need them stay ` +
      `unavailable until you run: apt-get ${installArgs.join(' ')}`,
  );
}

function main() {
  checkNode();
  // Debian packages first: the npm install compiles better-sqlite3 with
  // the build tools among them.
  installDebianPackages();
  installNpmDependencies();
  checkSqlite();
  console.log(
    DRY_RUN ? 'setup: ready (dry run, nothing changed)' : 'setup: ready',
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main();
}
