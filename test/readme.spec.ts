import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// Every ```ts example in the README is type-checked against the package, as a user would write it.
// The first one is the quick start's app.module.ts, which later examples import.
describe('README examples', () => {
  const readme = readFileSync('README.md', 'utf8');
  const snippets = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  const dir = join('test', '.readme-snippets');

  it('has examples', () => {
    expect(snippets.length).toBeGreaterThanOrEqual(4);
  });

  it('they all compile', () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const files = snippets.map((code, i) => {
      const name = i === 0 ? 'app.module.ts' : `example-${i}.ts`;
      writeFileSync(join(dir, name), code);
      return name;
    });
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ extends: '../../tsconfig.json', compilerOptions: { noEmit: true }, files, include: [] }),
    );
    try {
      execFileSync('npx', ['tsc', '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
    } catch (error) {
      throw new Error(`README examples do not compile:\n${(error as { stdout: string }).stdout}`, { cause: error });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('README and CONTRIBUTING', () => {
  const read = (file: string) => readFileSync(file, 'utf8');

  it('the README opens with the two commands newcomers and CI run, then the quick start and how it works', () => {
    const readme = read('README.md');
    expect(
      readme
        .match(/```bash\n([\s\S]*?)```/)?.[1]
        .split('\n')
        .map((line) => line.split('#')[0].trim()),
    ).toEqual(['npm ci && npm run sample', 'npm ci && npm test', '']);
    const headings = [...readme.matchAll(/^## (.*)$/gm)].map((m) => m[1]);
    expect(headings.indexOf('How it works')).toBe(headings.indexOf('Quick start') + 1);
  });

  // GitHub's anchors: lower case, punctuation dropped, spaces as hyphens; and explicit <a id>.
  const anchors = (text: string) => [
    ...[...text.matchAll(/^#+ (.*)$/gm)].map((m) =>
      m[1]
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    ),
    ...[...text.matchAll(/<a id="([^"]+)">/g)].map((m) => m[1]),
  ];

  it.each(['README.md', 'CONTRIBUTING.md'])('%s links only to files and sections that exist', (file) => {
    const broken = [...read(file).matchAll(/\]\(([^)\s]+)\)/g)]
      .map((m) => m[1])
      .filter((target) => !/^https?:/.test(target))
      .filter((target) => {
        const [path, anchor] = target.split('#');
        const into = path || file;
        return !existsSync(into) || (anchor !== undefined && !anchors(read(into)).includes(anchor));
      });
    expect(broken).toEqual([]);
  });
});
