import type { CompiledRule } from '../config/compile-options.js';
import type { DelegationHeaders } from '../backends/download-backend.interface.js';
import type { FileIdentity } from '../matching/match-rule.js';

/**
 * The words of the decision log (`debug: true`): which file a request got and why it was or was not
 * delegated. Names and paths are JSON-quoted, so a name with a line break cannot forge a log line;
 * file contents are never logged.
 */
export function ruleName(rule: CompiledRule): string {
  return rule.index === 'route' ? "the route's @XSendfile() rule" : `rules[${rule.index}]`;
}

/** `GET /files/a.txt: "a.txt"`: the request, and the file's name (a plain stream's path). */
export function describeRequest(request: { method?: string; url?: string }, file: object): string {
  const name = (file as { name?: unknown }).name ?? (file as { getStream(): { path?: unknown } }).getStream?.().path;
  return `${request.method ?? 'GET'} ${request.url ?? ''}: ${typeof name === 'string' ? JSON.stringify(name) : 'a stream'}`;
}

export function describeHeaders({ headers, status }: DelegationHeaders): string {
  const shown = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join(', ');
  return status && status !== 200 ? `${status}, ${shown}` : shown;
}

export function noRuleMatched(rules: readonly CompiledRule[], file: FileIdentity): string {
  const what = [
    file.url !== undefined ? `URL ${JSON.stringify(file.url)}` : undefined,
    file.path !== undefined ? `path ${JSON.stringify(file.path)}` : undefined,
  ]
    .filter(Boolean)
    .join(' or ');
  if (rules.length === 0) return `no rule matched its ${what} (no rules are configured)`;
  const tried = rules.map((rule) => {
    const sources = [
      rule.sourceUrl !== undefined ? `sourceUrl ${JSON.stringify(rule.sourceUrl)}` : undefined,
      rule.sourceDir !== undefined ? `sourceDir ${JSON.stringify(rule.sourceDir)}` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    return `${ruleName(rule)} (${sources})`;
  });
  return `no rule matched its ${what}; tried ${tried.join('; ')}`;
}
