import { singleLine } from '../core/clip-text.js';
import type { PromotionRecord } from '../core/registry/pointers.js';

/** What `flts promote` and `flts promote-manual` say when the run asked for was already in service. */
export function alreadyInServiceLine(record: PromotionRecord): string {
  // A record another writer left may hold line breaks or terminal escapes in its actor: one line of text.
  return singleLine(`${record.model_type} run ${record.run_id} is already in service (promoted ${record.timestamp} by ${record.source}${record.actor ? ` ${record.actor}` : ''}); nothing changed.`);
}
