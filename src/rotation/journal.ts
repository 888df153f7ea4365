/**
 * The journal of effects: every change the run makes is appended here the moment it happens. Rollback, the cancel
 * handler, the error message and the summary are all functions of it, so what the run says is what it did.
 */
import { type DestinationLedger, type HeldBefore, type Holding, type WriteReason, pairKey } from '../github/destination-record.js';
import type { KeyFate, Reason } from '../keys/destruction.js';
import type { CreatedUser } from '../shared/types.js';

export type { DestinationLedger, HeldBefore, Holding, WriteReason } from '../github/destination-record.js';
export type { KeyFate } from '../keys/destruction.js';


/** Fates after which the key no longer exists. */
const GONE: ReadonlySet<KeyFate> = new Set(['deleted', 'deleted to make room', 'deleted as an orphan', 'discarded']);

export type Effect =
  /** `until`: the lease's expiry, in IAM's time, as written. */
  | { kind: 'lease taken'; until?: number }
  | { kind: 'lease released' }
  | { kind: 'user created'; user: CreatedUser }
  | { kind: 'user deleted' }
  | { kind: 'environment created'; index: number }
  | { kind: 'key created'; id: string }
  /** This run finishes handing out `id`, the key an earlier run made and this job signs in with (it made no key). */
  | { kind: 'key resumed'; id: string }
  /** STS accepted the key (or verify-timeout-seconds: 0 waived the check; or this run signs in with it). */
  | { kind: 'key verified'; id: string }
  /** Every destination holds the key: the handover (recorded in IAM unless the tags may not be written). */
  | { kind: 'handed over'; id: string }
  /** `reason`: the row of the destruction table it was proven by (none: kept). */
  | { kind: 'key retired'; id: string; fate: KeyFate; reason?: Reason }
  /** An Active key was deleted to make room (key-limit: delete-oldest): any destination not rewritten may hold it. */
  | { kind: 'holders broken'; id: string; certain: number[]; maybe?: number[] }
  /** A key this run relied on was deleted or deactivated by someone else. */
  | { kind: 'key lost'; id: string }
  | { kind: 'secret written'; index: number; which: 'id' | 'secret'; keyId: string; reason: WriteReason; at?: number }
  /** Someone else wrote (or removed) the secret after this run wrote it (GitHub's updated_at is later). */
  | { kind: 'secret overwritten'; index: number; which: 'id' | 'secret' }
  | { kind: 'secret removed'; index: number; which: 'id' | 'secret' }
  | { kind: 'write in flight'; index: number; which: 'id' | 'secret' }
  | { kind: 'write failed'; index: number; which: 'id' | 'secret'; previous: Holding };

/** Effects that leave IAM and the destinations as they were. */
const QUIET: ReadonlySet<Effect['kind']> = new Set(['lease taken', 'lease released', 'write failed', 'key resumed', 'key verified']);

export class Journal {
  readonly effects: Effect[] = [];
  readonly destinations: DestinationLedger[];
  newKeyId: string | undefined;
  /** The earlier run's key this run hands out instead of making one (never discarded on a failure: the job holds it). */
  resumedKeyId: string | undefined;
  createdUser: CreatedUser | undefined;
  /** The lease tag may be on the user: this run wrote it and has not seen it go. */
  leaseHeld = false;
  /** When the lease this run holds expires (IAM's time), as written. */
  leaseUntil: number | undefined;
  readonly retired: { id: string; fate: KeyFate; reason?: Reason }[] = [];
  /** The key every destination holds by this run's handover (undefined: none yet, or it went away since). */
  handedOverKey: string | undefined;
  /** Keys STS accepted (or whose check verify-timeout-seconds: 0 waived) during this run. */
  readonly verifiedKeys = new Set<string>();
  /** The Active key deleted to make room, which destinations not rewritten may still hold. */
  broken: string | undefined;
  /** Destinations (by index) last written before every remaining key existed: they certainly hold a dead key. */
  brokenCertain = new Set<number>();
  /** Destinations (by index) that may hold the deleted key; undefined: any that held a pair before the run. */
  brokenMaybe: Set<number> | undefined;
  /** Keys this run relied on that someone else deleted or deactivated. */
  readonly lost = new Set<string>();

  constructor(count: number) {
    this.destinations = Array.from({ length: count }, () => ({
      heldBefore: 'both' as HeldBefore,
      updatedBefore: [],
      id: { kind: 'before' } as Holding,
      secret: { kind: 'before' } as Holding,
      created: false,
      reason: undefined,
      writtenAt: {},
    }));
  }

  record(effect: Effect): void {
    this.effects.push(effect);
    switch (effect.kind) {
      case 'lease taken':
        this.leaseHeld = true;
        this.leaseUntil = effect.until;
        break;
      case 'lease released':
        this.leaseHeld = false;
        this.leaseUntil = undefined;
        break;
      case 'user created':
        this.createdUser = effect.user;
        break;
      case 'user deleted':
        this.createdUser = undefined;
        this.leaseHeld = false; // the lease tag went with the user
        this.leaseUntil = undefined;
        break;
      case 'environment created':
        this.destinations[effect.index].created = true;
        break;
      case 'key created':
        this.newKeyId = effect.id;
        break;
      case 'key resumed':
        this.resumedKeyId = effect.id;
        break;
      case 'key verified':
        this.verifiedKeys.add(effect.id);
        break;
      case 'handed over':
        this.handedOverKey = effect.id;
        break;
      case 'key retired':
        this.retired.push({ id: effect.id, fate: effect.fate, ...(effect.reason ? { reason: effect.reason } : {}) });
        break;
      case 'holders broken':
        this.broken = effect.id;
        for (const i of effect.certain) this.brokenCertain.add(i);
        this.brokenMaybe = effect.maybe === undefined ? undefined : new Set([...effect.certain, ...effect.maybe]);
        break;
      case 'key lost':
        this.lost.add(effect.id);
        if (this.handedOverKey === effect.id) this.handedOverKey = undefined;
        break;
      case 'secret written': {
        const d = this.destinations[effect.index];
        d[effect.which] = { kind: 'key', keyId: effect.keyId };
        d.reason = effect.reason;
        d.writtenAt[effect.which] = effect.at;
        break;
      }
      case 'secret overwritten':
        this.destinations[effect.index][effect.which] = { kind: 'overwritten' };
        break;
      case 'secret removed':
        this.destinations[effect.index][effect.which] = { kind: 'absent' };
        break;
      case 'write in flight':
        this.destinations[effect.index][effect.which] = { kind: 'unknown' };
        break;
      case 'write failed':
        this.destinations[effect.index][effect.which] = effect.previous;
        break;
    }
  }

  /** Destinations this run changed a secret of (in order). */
  touched(): number[] {
    return this.destinations.flatMap((d, i) => (d.id.kind !== 'before' || d.secret.kind !== 'before' ? [i] : []));
  }

  /** The key a destination's two secrets both hold, when they were written by this run as one pair. */
  pairKey(i: number): string | undefined {
    return pairKey({ ledger: this.destinations[i] });
  }

  /**
   * Did this run change anything a person would need to know of? The lease (taken and given back) and a write GitHub
   * refused do not count; a write whose outcome is unknown does.
   */
  changedAnything(): boolean {
    return this.effects.some((e) => !QUIET.has(e.kind) && !(e.kind === 'key retired' && e.fate === 'kept'));
  }

  /** Every destination holds this run's new (or resumed) key, by this run's handover. */
  get handedOver(): boolean {
    return this.handedOverKey !== undefined;
  }

  /** Did STS accept key `id` during this run (or was its check waived)? */
  verified(id: string): boolean {
    return this.verifiedKeys.has(id);
  }

  /** Did this run delete (or discard) key `id`? */
  deleted(id: string): boolean {
    return this.retired.some((r) => r.id === id && GONE.has(r.fate));
  }
}
