import type { CompiledOptions, CompiledRule } from '../config/compile-options.js';
import { compileRouteRule, resolveBackend } from '../config/compile-options.js';
import type { DownloadMode, XSendfileOptions } from '../download.interfaces.js';

/** A rule as a route applies it: with its effective backend and mode. */
export type PlannedRule = CompiledRule & { readonly mode: DownloadMode };

/** What a route does with the files it returns; worked out once per handler, then cached. */
export interface RoutePlan {
  /** false: `@XSendfile(false)`, or `scope: 'decorated'` on an undecorated route. */
  readonly convert: boolean;
  /** The route's rule first (if any), then the module's, each with its effective backend and mode. */
  readonly rules: readonly PlannedRule[];
}

/**
 * Builds the plan of a route from its `@XSendfile()` metadata (`undefined` when it has none).
 * Mode precedence: `DOWNLOADVIEW_MODE`, then the route, then the rule, then the module.
 */
export function buildRoutePlan(
  metadata: XSendfileOptions | true | undefined,
  options: CompiledOptions,
  where: string,
): RoutePlan {
  if (metadata === false || (metadata === undefined && options.scope === 'decorated')) {
    return { convert: false, rules: [] };
  }
  const route = typeof metadata === 'object' ? metadata : undefined;
  const routeRule = route ? compileRouteRule(route, where, options) : undefined;
  const routeBackend = route?.backend !== undefined && !routeRule ? resolveBackend(route.backend, where) : undefined;
  const routeMode = routeRule ? undefined : route?.mode;
  const effective = (rule: CompiledRule) => ({
    ...rule,
    backend: routeBackend && rule.index !== 'route' ? routeBackend : rule.backend,
    mode: options.envMode ?? routeMode ?? rule.mode ?? options.mode,
  });
  return {
    convert: true,
    rules: [...(routeRule ? [routeRule] : []), ...options.rules].map(effective),
  };
}
