import { sep } from 'node:path';
import { hasControlCharacters } from '../paths/path-encoding.js';
import type { CompiledRule } from '../config/compile-options.js';
import type { FileIdentity } from '../sources/download-source.js';

export type { FileIdentity };

export interface RuleMatch<R extends CompiledRule = CompiledRule> {
  rule: R;
  /** `destinationDir` + the file's path below the rule's source, decoded. */
  destination: string;
}

/** A remainder that could make the destination leave `destinationDir`, or break a header. */
function isUnsafeRemainder(remainder: string): boolean {
  return (
    remainder === '' ||
    !remainder.isWellFormed() || // a lone surrogate cannot be encoded for any header
    hasControlCharacters(remainder) ||
    remainder.includes('\\') ||
    remainder.split('/').some((segment) => segment === '..' || segment === '.')
  );
}

function urlRemainder(rule: CompiledRule, url: string): string | undefined {
  if (!rule.sourceUrl || !url.startsWith(rule.sourceUrl)) return undefined;
  const encoded = url.slice(rule.sourceUrl.length).replace(/^\/+/, '').split(/[?#]/, 1)[0];
  try {
    return decodeURIComponent(encoded);
  } catch {
    return undefined; // malformed escapes: not ours to guess
  }
}

function pathRemainder(rule: CompiledRule, path: string): string | undefined {
  if (!rule.sourceDir || !path.startsWith(rule.sourceDir)) return undefined;
  const remainder = path.slice(rule.sourceDir.length);
  return sep === '/' ? remainder : remainder.split(sep).join('/');
}

/**
 * The first rule that matches a file: for each rule in order, its `sourceUrl` against the file's
 * public URL, then its `sourceDir` against the file's absolute path. A remainder that would leave
 * `destinationDir` never matches.
 */
export function matchRule<R extends CompiledRule>(rules: readonly R[], file: FileIdentity): RuleMatch<R> | undefined {
  for (const rule of rules) {
    const remainder =
      (file.url !== undefined ? urlRemainder(rule, file.url) : undefined) ??
      (file.path !== undefined ? pathRemainder(rule, file.path) : undefined);
    if (remainder !== undefined && !isUnsafeRemainder(remainder)) {
      return { rule, destination: rule.destinationDir + remainder };
    }
  }
  return undefined;
}
