import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve('.');
const packed = join(root, '.packed');

// The package as users get it: `npm pack`, installed into fresh apps (an ESM Nest 12 app, and a
// CommonJS Nest 11 app that require()s it) by test/packed/prepare.mjs, npm's pretest; types
// checked under three module resolutions. The "tarball" Jest projects run the suites in those apps.
describe('the packed tarball', () => {
  let tarball: string;

  beforeAll(() => {
    const found = existsSync(packed) ? readdirSync(packed).filter((f) => f.endsWith('.tgz')) : [];
    if (found.length !== 1)
      throw new Error('No packed tarball in .packed/: run `npm test` (its pretest packs and installs it)');
    tarball = join(packed, found[0]);
  });

  it('holds only dist/, the README, the LICENSE and package.json', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball]);
    const files = stdout
      .trim()
      .split('\n')
      .map((f) => f.replace(/^package\//, ''));
    expect(files.filter((f) => !/^(dist\/|README\.md$|LICENSE$|package\.json$)/.test(f))).toEqual([]);
    expect(files).toEqual(
      expect.arrayContaining([
        'dist/index.js',
        'dist/index.d.ts',
        'dist/testing/index.js',
        'dist/testing/index.d.ts',
        'dist/cli/main.js',
        'README.md',
        'LICENSE',
      ]),
    );
    // Nothing that points at files the tarball leaves out (source maps of src/).
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
  });

  const expectWorkingDownloads = (stdout: string, major: string) => {
    const result = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(result.nest.split('.')[0]).toBe(major);
    expect(result.delegated).toEqual({ status: 200, xSendfile: '/srv/media/hello.txt', body: '' });
    expect(result.served).toEqual({ status: 200, body: 'in memory', disposition: 'attachment; filename=mem.txt' });
    expect(result.assertion).toBe('passed');
    expect(result.ranged).toEqual({ status: 206, body: 'mem' });
  };

  it.each([
    ['nest12-esm', 'app.mjs', 'an ESM NestJS 12 app', '12'],
    ['nest12.0-esm', 'app.mjs', 'an ESM NestJS 12.0 app', '12'],
    ['nest11-cjs', 'app.cjs', 'a CommonJS NestJS 11 app (require of the ESM package)', '11'],
    ['nest11.0-cjs', 'app.cjs', 'a CommonJS NestJS 11.0.0 app (require of the ESM package)', '11'],
  ])(
    'works in a fresh app: %s (%s), %s',
    async (dir, entry, _what, major) => {
      const { stdout } = await run('node', [entry], { cwd: join(packed, dir) });
      expectWorkingDownloads(stdout, major);
    },
    60_000,
  );

  it('an app without the AWS SDK never loads it, and S3Storage names the package to install', async () => {
    const script = `
      import('nestjs-downloadview').then(async () => {
        const { S3Storage } = await import('nestjs-downloadview/s3');
        try { new S3Storage({ client: { send() {} }, bucket: 'b' }); } catch (error) { console.log(error.message); }
      });`;
    for (const dir of ['nest12-esm', 'nest11-cjs']) {
      expect(existsSync(join(packed, dir, 'node_modules', '@aws-sdk'))).toBe(false);
      // Outside this repository (whose own node_modules has the SDK): the app's node_modules
      // linked from a fresh folder, resolved through the link.
      const app = mkdtempSync(join(tmpdir(), 'downloadview-no-sdk-'));
      symlinkSync(join(packed, dir, 'node_modules'), join(app, 'node_modules'));
      try {
        const { stdout } = await run('node', ['--preserve-symlinks', '-e', script], { cwd: app });
        expect(stdout.trim()).toBe(
          'S3Storage needs @aws-sdk/client-s3 for its commands: npm install @aws-sdk/client-s3',
        );
      } finally {
        rmSync(app, { recursive: true, force: true });
      }
    }
  });

  it('names @opentelemetry in its /otel entry point only: an app without the API never loads it', async () => {
    const { stdout: list } = await run('tar', ['-tzf', tarball]);
    const scripts = list.split('\n').filter((f) => f.endsWith('.js'));
    const [otel, core] = await Promise.all(
      [true, false].map(async (inOtel) => {
        const files = scripts.filter((f) => f.startsWith('package/dist/otel/') === inOtel);
        return (await run('tar', ['-xzOf', tarball, ...files])).stdout;
      }),
    );
    expect(otel).toContain("from '@opentelemetry/api'");
    expect(core).not.toContain('@opentelemetry');
    for (const dir of ['nest12-esm', 'nest11-cjs']) {
      expect(existsSync(join(packed, dir, 'node_modules', '@opentelemetry'))).toBe(false);
    }
  });

  const tsc = join(root, 'node_modules', '.bin', 'tsc');
  const typeCheck = (dir: string, module: string, resolution: string) =>
    run(
      tsc,
      [
        '--ignoreConfig',
        '--noEmit',
        '--strict',
        '--experimentalDecorators',
        '--skipLibCheck',
        '--ignoreDeprecations',
        '6.0',
        '--module',
        module,
        '--moduleResolution',
        resolution,
        '--target',
        'ES2022',
        '--types',
        'node',
        '--typeRoots',
        join(root, 'node_modules', '@types'),
        'types-check.ts',
      ],
      { cwd: join(packed, dir) },
    );

  it.each([
    ['NodeNext', 'NodeNext'],
    ['Node16', 'Node16'],
    ['Bundler', 'ESNext'],
  ])(
    'its types resolve in an ESM app under moduleResolution %s',
    async (resolution, module) => {
      await expect(typeCheck('nest12-esm', module, resolution)).resolves.toBeDefined();
    },
    120_000,
  );

  // The two settings of CommonJS Nest apps: `commonjs` (node10 resolution, where typesVersions
  // gives the subpaths their types) and `nodenext` (TypeScript >= 5.8 types require() of ESM).
  it.each([
    ['Node10', 'CommonJS'],
    ['NodeNext', 'NodeNext'],
  ])(
    'its types resolve in a CommonJS app under moduleResolution %s',
    async (resolution, module) => {
      await expect(typeCheck('nest11-cjs', module, resolution)).resolves.toBeDefined();
    },
    120_000,
  );
});
