import type { BlockList } from 'node:net';
import type { DelegationHeaders, DownloadBackend } from '../backends/index.js';
import type { CompiledRule } from '../config/compile-options.js';
import type { DownloadMode } from '../download.interfaces.js';
import { requestHeader } from '../http/conditional-get.js';
import type { IncomingRequest } from '../platform/platform.js';
import type { DownloadSource } from '../sources/download-source.js';
import { isInside } from '../storage/path-safety.js';
import { noRuleMatched, ruleName } from './decision-log.js';
import { matchRule } from './match-rule.js';
import { whyProxyWillNotConsume } from './proxy-detection.js';
import type { PlannedRule, RoutePlan } from './route-plan.js';

/** What the module does with one file response: the proxy sends it (with these headers), or Node, and why. */
export type Decision =
  | {
      readonly delegate: true;
      readonly rule: CompiledRule;
      readonly backend: DownloadBackend;
      /** The backend's header(s), and a status other than 200 where it needs one (206, 302). */
      readonly delegation: DelegationHeaders;
    }
  | { readonly delegate: false; readonly reason: string };

/** What the decision reads of the module's options. */
export interface DecisionOptions {
  readonly trustedProxies: BlockList;
  readonly envMode?: DownloadMode;
  readonly allowSymlinksOutside: boolean;
  /** Spell out every reason in full (the decision log is on); otherwise short ones, on the hot path. */
  readonly debug?: boolean;
}

// Why a file is served by Node: the decision log's words.
export const NOT_CONVERTED =
  'conversion is off for this route (@XSendfile(false), or scope "decorated" and no @XSendfile())';
export const VIRTUAL = 'a virtual file (in memory) is never delegated';
export const NOT_A_FILE =
  'not a file on disk (a StreamableFile over something other than createReadStream(path) of a whole file)';
export const NO_RULE = 'no rule matched';
export const SYMLINK_OUT = "its real path leaves the rule's sourceDir (a symlink; see allowSymlinksOutside)";

const node = (reason: string): Decision => ({ delegate: false, reason });

/**
 * Decides who sends a file: the proxy, when a rule of the route's plan matches the file's identity,
 * its mode lets the proxy take it (`auto`: the proxy announced itself from a trusted address), the
 * file's real path stays inside the rule's `sourceDir`, and the backend can carry it; else Node.
 *
 * It does no I/O of its own: what it must know of a file on disk (its size, its real path, a 404
 * when it is gone) it asks the source, which asks the filesystem once and only when a rule needs it.
 */
export function decide(
  source: DownloadSource | undefined,
  plan: RoutePlan,
  request: IncomingRequest,
  options: DecisionOptions,
): Decision {
  if (!plan.convert) return node(NOT_CONVERTED);
  if (!source) return node(NOT_A_FILE);
  if (source.kind === 'memory') return node(VIRTUAL);
  if (source.kind === 'archive') return node(source.reason);
  const match = matchRule(plan.rules, source.identity);
  if (!match) return node(options.debug ? noRuleMatched(plan.rules, source.identity) : NO_RULE);
  const { rule } = match;
  const { backend } = rule;

  const refused = whyModeRefuses(rule, request, options);
  if (refused) return node(refused);

  let size: number | undefined;
  if (source.kind === 'disk') {
    size = source.knownStats?.size;
    // Matched by path: the real path must lie below sourceDir too, or a symlink would let the proxy
    // serve a file outside it. Stat'ing also makes a missing file a 404 rather than the proxy's.
    if (rule.sourceDir && (!source.url || !rule.sourceUrl)) {
      size = source.stats.size;
      if (!options.allowSymlinksOutside && !isInside(rule.sourceDir, source.realPath() + '/')) {
        return node(SYMLINK_OUT);
      }
    }
  } else if (source.kind === 'object') {
    size = source.known?.size;
    if (backend.destinationKind === 'path') {
      return node(`an object in a bucket has no path on disk for backend ${backend.name} (use nginx or redirect)`);
    }
  }

  const delegation = backend.delegate({
    destination: match.destination,
    destinationDir: rule.destinationDir,
    signedUrl: source.kind === 'object' ? source.object?.signedUrl : undefined,
    range: requestHeader(request, 'range'),
    conditionalRange: request.headers['if-range'] !== undefined,
    size,
    options: rule.backendOptions,
  });
  if (!delegation) return node(`backend ${backend.name} cannot carry this name or request (${ruleName(rule)})`);
  return { delegate: true, rule, backend, delegation };
}

/** Why a matching rule's mode keeps the proxy out of this request, or undefined when it lets it in. */
function whyModeRefuses(rule: PlannedRule, request: IncomingRequest, options: DecisionOptions): string | undefined {
  if (rule.mode === 'always') return undefined;
  if (rule.mode === 'off') {
    return options.envMode === 'off' ? 'mode off (DOWNLOADVIEW_MODE)' : `mode off (${ruleName(rule)})`;
  }
  return whyProxyWillNotConsume(request, rule.backend, options.trustedProxies);
}
