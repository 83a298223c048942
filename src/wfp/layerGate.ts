/**
 * A layer's gate: a cheap test, made before arbitration, that no filter at the layer can match a classify's
 * incoming values. Most packets match no filter (the host run's one BLOCK filter never matches), and then the
 * result is the layer's default - PERMIT, the write right kept, no flags, no deciding filter, no callout run -
 * which the gate lets the engine give without walking sublayers and candidate lists.
 *
 * Why it is exact: a filter matches only when each of its condition groups has a matching condition. When one
 * group of a filter holds only FWP_MATCH_EQUAL conditions on an 8/16/32-bit integer (or an IPv4 address with a
 * /32 mask), the filter can match only a packet whose value of that field is one of those integers, of an
 * integer type (conditionMatches: a value of another type, or FWP_EMPTY, matches no such condition). The gate
 * files one such group of every filter at the layer in a membership set per field; a packet whose values hit
 * none of the sets matches no filter. A bit set by a hash collision only sends the packet to full arbitration.
 * When some filter has no such group (a range, a prefix, a callout with no conditions), the gate stays open.
 */
import type { FilterEntry } from './filterEntry.js';
import { addKey, hasKey, newKeyBits } from './keyBits.js';
import { exactKeyOf, isExactCondition } from './staticDecisions.js';
import type { FWPS_INCOMING_VALUES0 } from './structures.js';
import { isSmallInteger, smallIntegerOf } from './values.js';

/** The gate of one layer, rebuilt by its owner when the layer's filters change. */
export class LayerGate {
  /** False when some filter has no all-exact group: every classify then arbitrates. */
  private closable = false;
  /** The fields with key sets, and their sets (same order). */
  private fields = new Int32Array(0);
  private bits: Uint32Array[] = [];

  /** Files the filters (every filter at the layer, all sublayers). */
  rebuild(filters: Iterable<FilterEntry>): void {
    const byField = new Map<number, Uint32Array>();
    this.closable = true;
    for (const f of filters) {
      let filed = false;
      for (let g = 0; g < f.groups.length && !filed; g++) {
        const group = f.groups[g]!;
        let exact = group.values.length > 0;
        for (let i = 0; i < group.values.length && exact; i++)
          exact = isExactCondition(group.matchTypes[i]!, group.values[i]!);
        if (!exact) continue;
        let bits = byField.get(group.field);
        if (bits === undefined) byField.set(group.field, (bits = newKeyBits()));
        for (let i = 0; i < group.values.length; i++) addKey(bits, exactKeyOf(group.values[i]!));
        filed = true;
      }
      if (!filed) {
        this.closable = false;
        break;
      }
    }
    this.fields = Int32Array.from(byField.keys());
    this.bits = [...byField.values()];
  }

  /** True when no filter of the layer can match `values` (see the file comment); false when one may. */
  closed(values: FWPS_INCOMING_VALUES0): boolean {
    if (!this.closable) return false;
    const incoming = values.incomingValue;
    const fields = this.fields;
    for (let i = 0; i < fields.length; i++) {
      const slot = incoming[fields[i]!];
      if (slot === undefined) continue;
      const value = slot.value;
      if (isSmallInteger(value.type) && hasKey(this.bits[i]!, smallIntegerOf(value))) return false;
    }
    return true;
  }
}
