// RBAC, decided in one place. Every entry point (a route's action, `/run`, a model's tool call, a
// scheduled run, the REST API, an admin chat command) asks `authorize` with the identity of the person
// (or schedule) on whose behalf it acts. A denial is a value the caller turns into a reply and an audit
// record; nothing here throws.
import type { Identity } from './types.ts';

/** The seed's matrix. Admin may do everything; Operator and Auditor have their own areas; User is everyone. */
export const ROLES = ['Admin', 'Operator', 'Auditor', 'User'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}

/** Who has which role: "platform:user-id" → role, from `security.roles`. Everyone else is a User. */
export class RoleMap {
  readonly #byId: ReadonlyMap<string, Role>;
  constructor(byId: ReadonlyMap<string, Role>) {
    this.#byId = byId;
  }
  roleOf(platform: string, userId: string): Role {
    return this.#byId.get(`${platform}:${userId}`) ?? 'User';
  }
  /** Every "platform:id" with this role (e.g. the Admins to tell about a pending approval). */
  members(role: Role): string[] {
    return [...this.#byId].filter(([, r]) => r === role).map(([k]) => k);
  }
}

export type Decision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly reason: string; readonly userText: string };

const ALLOWED: Decision = { allowed: true };

/**
 * May `who` use `what` (an action, command, workflow or admin command) that needs `required`? A
 * requirement is met by that role itself and by Admin; `User` is met by everyone. A list means any of them.
 */
export function authorize(who: Pick<Identity, 'role'>, required: Role | readonly Role[], what: string): Decision {
  const needed: readonly Role[] = typeof required === 'string' ? [required] : required;
  if (who.role === 'Admin' || needed.includes('User') || needed.includes(who.role as Role)) return ALLOWED;
  const names = needed.join(' or ');
  return {
    allowed: false,
    reason: `${what} needs ${names}; the sender is ${who.role}`,
    userText: `Sorry, ${what} needs the ${names} role, and you are ${article(who.role)} ${who.role}.`,
  };
}

/** "an Admin/Operator/Auditor", "a User": by sound, not by letter. */
function article(word: string): string {
  return /^[AEIO]/.test(word) ? 'an' : 'a';
}
