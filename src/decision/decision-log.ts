import type { CompiledRule } from '../config/compile-options.js';
import type { DelegationHeaders } from '../backends/download-backend.interface.js';
import { requestUrl, type IncomingRequest } from '../platform/platform.js';
import type { FileIdentity } from '../sources/download-source.js';

/**
 * The words of the decision log (`debug: true`): which file a request got and why it was or was not
 * delegated. Names and paths are JSON-quoted, so a name with a line break cannot forge a log line;
 * file contents are never logged, and neither is a query's value (see withoutQueryValues).
 */
export function ruleName(rule: CompiledRule): string {
  return rule.index === 'route' ? "the route's @XSendfile() rule" : `rules[${rule.index}]`;
}

/**
 * A URL or path with its query's values left out: `/s3-internal/b/k?X-Amz-Credential&X-Amz-Signature`.
 * Application logs travel (to files, to third parties): a signed URL's signature and credential, an
 * app's own link signature or a token in the request's query must never be written there, while
 * which parameters were there still helps to find why a link failed.
 */
export function withoutQueryValues(value: string): string {
  const query = value.indexOf('?');
  if (query === -1) return value;
  const hash = value.indexOf('#', query);
  const names = value
    .slice(query + 1, hash === -1 ? undefined : hash)
    .split('&')
    .filter(Boolean)
    .map((pair) => pair.split('=', 1)[0]);
  return `${value.slice(0, query)}?${names.join('&')}`;
}

/** `GET /files/a.txt: "a.txt"`: the request (its query's values left out), and the file's name. */
export function describeRequest(request: IncomingRequest, name: string | undefined): string {
  const url = withoutQueryValues(requestUrl(request));
  return `${request.method ?? 'GET'} ${url}: ${name !== undefined ? JSON.stringify(name) : 'a stream'}`;
}

/** The delegation's status and headers, every value without its query's values. */
export function describeHeaders({ headers, status }: DelegationHeaders): string {
  const shown = Object.entries(headers)
    .map(([name, value]) => `${name}: ${withoutQueryValues(value)}`)
    .join(', ');
  return status && status !== 200 ? `${status}, ${shown}` : shown;
}

export function noRuleMatched(rules: readonly CompiledRule[], file: FileIdentity): string {
  const what = [
    file.url !== undefined ? `URL ${JSON.stringify(withoutQueryValues(file.url))}` : undefined,
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
