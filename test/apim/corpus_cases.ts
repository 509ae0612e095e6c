// The corpus, in file order: every case of corpus_identity.ts and corpus_values.ts.
import { IDENTITY_CASES } from './corpus_identity.js';
import type { CorpusCase } from './corpus_shared.js';
import { VALUE_CASES } from './corpus_values.js';

export { CERTIFICATE_BUNDLE, type CorpusCase } from './corpus_shared.js';

export const CORPUS: readonly CorpusCase[] = [...IDENTITY_CASES, ...VALUE_CASES].sort((a, b) =>
  a.file.localeCompare(b.file),
);
