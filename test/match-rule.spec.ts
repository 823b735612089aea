import { compileOptions } from '../src/config/compile-options.js';
import { matchRule } from '../src/decision/match-rule.js';

const { rules } = compileOptions({
  rules: [
    { sourceUrl: '/media/', destinationDir: '/srv/media' },
    { sourceDir: '/var/private', destinationDir: '/srv/private/' },
    { sourceUrl: 'https://cdn.example.com/files/', destinationDir: '/remote/', backend: 'nginx' },
  ],
});

describe('matchRule', () => {
  it('joins destinationDir with the decoded rest of the URL', () => {
    expect(matchRule(rules, { url: '/media/a%20b/%C3%A9.txt' })?.destination).toBe('/srv/media/a b/é.txt');
  });
  it('matches a path inside sourceDir, not a sibling with the same prefix', () => {
    expect(matchRule(rules, { path: '/var/private/x/y.zip' })?.destination).toBe('/srv/private/x/y.zip');
    expect(matchRule(rules, { path: '/var/private-other/y.zip' })).toBeUndefined();
  });
  it('tries sourceUrl before sourceDir, rule by rule', () => {
    expect(matchRule(rules, { url: '/media/a.txt', path: '/var/private/a.txt' })?.rule.index).toBe(0);
    expect(matchRule(rules, { url: '/elsewhere/a.txt', path: '/var/private/a.txt' })?.rule.index).toBe(1);
  });
  it('matches remote URLs for nginx', () => {
    const match = matchRule(rules, { url: 'https://cdn.example.com/files/v1/a.bin?sig=1' });
    expect(match?.destination).toBe('/remote/v1/a.bin');
    expect(match?.rule.backend.name).toBe('nginx');
  });
  it('never produces a destination outside destinationDir', () => {
    for (const url of [
      '/media/../etc/passwd',
      '/media/%2e%2e/etc/passwd',
      '/media/a/%2E%2E/%2E%2E/x',
      '/media/a%00b',
      '/media/a%0d%0aX: y',
      '/media/%E0%A4%A',
      '/media/a\\..\\b',
    ]) {
      expect(matchRule(rules, { url })).toBeUndefined();
    }
  });
});
