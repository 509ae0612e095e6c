/** The body was larger than allowed: by its content-length, or by what actually arrived. */
export class BodyTooLarge extends Error {
  /** The declared content-length, when that is what was too large. */
  readonly declared: number | undefined;

  constructor(maxBytes: number, declared: number | undefined) {
    super(
      declared === undefined
        ? `response exceeds ${maxBytes} bytes`
        : `response of ${declared} bytes exceeds ${maxBytes}`,
    );
    this.name = 'BodyTooLarge';
    this.declared = declared;
  }
}

/**
 * A fetch response's body as UTF-8 text, never more than `maxBytes`: refused up front by content-length, and cut
 * off as soon as the bytes received pass the bound, so a hostile or broken server cannot make us buffer without
 * limit. Throws BodyTooLarge for that; network errors and aborts are thrown as the body stream raised them.
 */
export async function readBodyLimited(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new BodyTooLarge(maxBytes, declared);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw new BodyTooLarge(maxBytes, undefined);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
