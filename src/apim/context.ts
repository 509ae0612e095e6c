/** What every mapping function of one policy element shares: the reporter, the certificates, where keys came from. */
import type { Reporter } from './diagnostics.js';

export type Out = Record<string, unknown>;

export interface Certificate {
  /** The file given with --certificate, for messages. */
  readonly file: string;
  readonly pem: string;
}

export interface MapContext {
  readonly report: Reporter;
  /** `--certificate ID=FILE.pem`: the PEM text for each APIM certificate id. */
  readonly certificates: ReadonlyMap<string, Certificate>;
  /**
   * The XML line each written key came from (`openidConfig[1]`, `issuerSigningKeys[0]`, `audiences`), so that a
   * problem the compile step finds in the YAML is reported at the line the user can fix.
   */
  readonly origins: Map<string, Origin>;
}

export interface Origin {
  readonly line: number;
  /** `<key>`, `<openid-config url>`: how a message names it. */
  readonly what: string;
}
