import { ForbiddenException, UseGuards, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { requestUrl, type IncomingRequest } from '../platform/platform.js';
import { SIGNATURE_PARAMETER, UrlSigner } from '../signing/url-signer.js';

/** Verifies the `X-Signature` of the request's own URL path. */
export class SignatureGuard implements CanActivate {
  constructor(private readonly signer: UrlSigner) {}

  canActivate(context: ExecutionContext): boolean {
    const [path, query = ''] = requestUrl(context.switchToHttp().getRequest<IncomingRequest>()).split('?', 2);
    const values = new URLSearchParams(query).getAll(SIGNATURE_PARAMETER);
    // Two signatures is someone guessing which one is checked.
    const problem = values.length > 1 ? 'malformed' : this.signer.check(path, values[0]);
    if (problem) throw new ForbiddenException(`Signature ${problem}`);
    return true;
  }
}

/**
 * Answers 403 unless the request URL carries a valid, unexpired `X-Signature` made by the storage
 * (or signer) given — django-downloadview's `signature_required`.
 */
export function SignatureRequired(source: UrlSigner | { signer: UrlSigner }): MethodDecorator & ClassDecorator {
  const signer = source instanceof UrlSigner ? source : source.signer;
  return UseGuards(new SignatureGuard(signer));
}
