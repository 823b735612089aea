// Installs the package as users get it (`npm pack` of the built dist/) into fresh apps, one per
// fixture under test/fixtures/, and copies the test suites and the sample beside it, so that Jest's
// "packed" projects run the same tests against the tarball on NestJS 12 (ESM) and NestJS 11 (CJS).
//
// Runs before Jest (npm's pretest), as Jest looks for test files before any globalSetup would run.
// An app is reinstalled only when the tarball or a file of its fixture changed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export const PACKED_ROOT = resolve('.packed');
export const PACKED_APPS = ['nest12-esm', 'nest12.0-esm', 'nest11-cjs', 'nest11.0-cjs'];

const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const sha256 = (...parts) => createHash('sha256').update(parts.join('\0')).digest('hex');

function pack() {
  mkdirSync(PACKED_ROOT, { recursive: true });
  const [{ filename }] = JSON.parse(npm(['pack', '--json', '--silent', '--pack-destination', PACKED_ROOT], '.'));
  return join(PACKED_ROOT, filename);
}

/** What the packed projects run: test/ without the fixtures, and the sample app the suites start. */
function copySuites(app) {
  for (const dir of ['test', 'sample']) rmSync(join(app, dir), { recursive: true, force: true });
  cpSync('sample', join(app, 'sample'), {
    recursive: true,
    filter: (path) => relative('sample', path).split('/')[0] !== 'media',
  });
  cpSync('test', join(app, 'test'), {
    recursive: true,
    filter: (path) => !['fixtures', 'packed', '.readme-snippets'].includes(relative('test', path).split('/')[0]),
  });
  // The suites are ESM, as in the repository, also inside the CommonJS app.
  for (const dir of ['test', 'sample']) writeFileSync(join(app, dir, 'package.json'), '{ "type": "module" }\n');
  // ts-jest reads this: the repository's tsconfig without the paths that point at src/.
  const { compilerOptions } = JSON.parse(readFileSync('tsconfig.json', 'utf8'));
  delete compilerOptions.paths;
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { ...compilerOptions, rootDir: '.' } }, null, 2),
  );
}

function install(name, tarball) {
  const fixture = join('test', 'fixtures', name);
  const app = join(PACKED_ROOT, name);
  const stamp = join(app, '.installed');
  const fixtureFiles = readdirSync(fixture)
    .sort()
    .map((file) => `${file}\0${readFileSync(join(fixture, file), 'utf8')}`);
  const shared = ['app.mjs', 'app.cjs', 'app-body.js'].map((file) => readFileSync(join('test', 'fixtures', file)));
  const wanted = sha256(readFileSync(tarball), ...shared, ...fixtureFiles);
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== wanted) {
    rmSync(app, { recursive: true, force: true });
    cpSync(fixture, app, { recursive: true });
    // The app itself, shared by the fixtures: an entry point of the app's module type and its body.
    const esm = name.endsWith('-esm');
    cpSync(join('test', 'fixtures', esm ? 'app.mjs' : 'app.cjs'), join(app, esm ? 'app.mjs' : 'app.cjs'));
    cpSync(join('test', 'fixtures', 'app-body.js'), join(app, esm ? 'app-body.cjs' : 'app-body.js'));
    npm(['install', '--no-audit', '--no-fund', '--loglevel=error', tarball], app);
    writeFileSync(stamp, wanted);
  }
  copySuites(app);
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const tarball = pack();
  for (const name of PACKED_APPS) {
    const app = install(name, tarball);
    console.log(`packed: ${relative('.', tarball)} installed in ${relative('.', app)}`);
  }
}
