import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve('.');
const fixtures = join(root, 'test', 'fixtures');

// The package as users get it: `npm pack`, installed into fresh apps (an ESM Nest 12 app, and a
// CommonJS Nest 11 app that require()s it), types checked under three module resolutions.
describe('the packed tarball', () => {
  let work: string;
  let tarball: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'downloadview-pack-'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: root });
    tarball = join(work, JSON.parse(stdout)[0].filename);
  }, 120_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('holds only dist/, the README, the LICENSE and package.json', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball]);
    const files = stdout.trim().split('\n').map((f) => f.replace(/^package\//, ''));
    expect(files.filter((f) => !/^(dist\/|README\.md$|LICENSE$|package\.json$)/.test(f))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'dist/testing/index.js', 'dist/testing/index.d.ts', 'dist/cli/main.js', 'README.md', 'LICENSE']));
  });

  async function installFixture(name: string, body: string): Promise<string> {
    const dir = join(work, name);
    cpSync(join(fixtures, name), dir, { recursive: true });
    cpSync(join(fixtures, 'app-body.js'), join(dir, body));
    await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: dir });
    return dir;
  }

  const expectWorkingDownloads = (stdout: string, major: string) => {
    const result = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(result.nest.split('.')[0]).toBe(major);
    expect(result.delegated).toEqual({ status: 200, xSendfile: '/srv/media/hello.txt', body: '' });
    expect(result.served).toEqual({ status: 200, body: 'in memory', disposition: 'attachment; filename=mem.txt' });
    expect(result.assertion).toBe('passed');
    expect(result.ranged).toEqual(major === '12' ? { status: 206, body: 'mem' } : { status: 200, body: 'in memory' });
  };

  it('works in a fresh ESM NestJS 12 app', async () => {
    const dir = await installFixture('nest12-esm', 'app-body.cjs');
    const { stdout } = await run('node', ['app.mjs'], { cwd: dir });
    expectWorkingDownloads(stdout, '12');
  }, 300_000);

  it('works in a CommonJS NestJS 11 app (require of the ESM package)', async () => {
    const dir = await installFixture('nest11-cjs', 'app-body.js');
    const { stdout } = await run('node', ['app.cjs'], { cwd: dir });
    expectWorkingDownloads(stdout, '11');
  }, 300_000);

  it.each([
    ['NodeNext', 'NodeNext'],
    ['Node16', 'Node16'],
    ['Bundler', 'ESNext'],
  ])('its types resolve under moduleResolution %s', async (resolution, module) => {
    const dir = join(work, 'nest12-esm');
    expect(readdirSync(dir)).toContain('node_modules');
    const tsc = join(root, 'node_modules', '.bin', 'tsc');
    await expect(
      run(tsc, ['--noEmit', '--strict', '--experimentalDecorators', '--skipLibCheck', '--module', module, '--moduleResolution', resolution, '--target', 'ES2022', '--types', 'node', '--typeRoots', join(root, 'node_modules', '@types'), 'types-check.ts'], { cwd: dir }),
    ).resolves.toBeDefined();
  }, 120_000);
});
