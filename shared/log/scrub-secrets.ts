/**
 * Secrets that may hide inside free text (an error message, a stack): a file of its own, without
 * pino, so the CLI can scrub its error line without loading the logger.
 */

/** Query parameters of a presigned URL that must never reach a log. */
const SIGNATURE_PARAM = /([?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token)=)[^&\s"]*/gi;

/**
 * The signature of an `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
 * Signature=<hex>` header, which a server or proxy may echo back in an error message: it
 * authorises replaying that request for as long as its date is accepted.
 */
const AUTHORIZATION_SIGNATURE = /(\bSignature=)[0-9a-f]{16,}/gi;

/** Removes presigned-URL signatures and credentials, and request signatures, from a string. */
export function scrubSecrets(text: string): string {
  return text.replace(SIGNATURE_PARAM, '$1[redacted]').replace(AUTHORIZATION_SIGNATURE, '$1[redacted]');
}
