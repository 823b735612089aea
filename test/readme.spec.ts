import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
