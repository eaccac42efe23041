import type { TokenRecord } from '../store/auth.js';
import { tokenOwners } from '../store/auth.js';
import type { Db } from '../store/db.js';

/**
 * People, not tokens. The audit log and approvals keep the machine identity they were written with
 * (`user:alice`, `token:cli#5`, `cli:root`): it is part of the signed chain and what filters match.
 * What people read names the person: "alice", "alice (token cli)", "root (server command line)".
 */

/** The person behind a caller: a signed-in user, or whoever issued the token (null: not known). */
export function personOf(p: Pick<TokenRecord, 'userId' | 'name' | 'createdBy'> | undefined): string | null {
  if (!p) return null;
  return p.userId ? p.name.replace(/^session:/, '') : p.createdBy;
}

const TOKEN_ACTOR = /^token:(.*)#(\d+)$/;

/** Each actor string as people read it; tokens are looked up once for the whole list. */
export async function peopleNames(
  db: Db,
  actors: Array<string | null | undefined>,
): Promise<Map<string, string>> {
  const distinct = [...new Set(actors.filter((a): a is string => !!a))];
  const ids = distinct.map((a) => TOKEN_ACTOR.exec(a)?.[2]).filter((x): x is string => !!x);
  const owners = ids.length ? await tokenOwners(db, ids.map(Number)) : new Map();
  const out = new Map<string, string>();
  for (const a of distinct) {
    const t = TOKEN_ACTOR.exec(a);
    if (t) {
      const owner = owners.get(Number(t[2]))?.createdBy;
      out.set(
        a,
        owner ? (owner === t[1] ? `${owner} (token #${t[2]})` : `${owner} (token ${t[1]})`) : `token ${t[1]}`,
      );
    } else if (a.startsWith('user:')) out.set(a, a.slice(5));
    else if (a.startsWith('cli:')) out.set(a, `${a.slice(4)} (server command line)`);
    else if (a === 'system') out.set(a, 'Customs');
    else out.set(a, a);
  }
  return out;
}

/** `rows` with `<field>Name` beside each named actor field. */
export async function withPeople<T extends object, K extends keyof T & string>(
  db: Db,
  rows: T[],
  fields: K[],
): Promise<Array<T & Partial<Record<`${K}Name`, string>>>> {
  const names = await peopleNames(
    db,
    rows.flatMap((r) => fields.map((f) => r[f] as unknown as string | null)),
  );
  return rows.map((r) => {
    const extra: Record<string, string> = {};
    for (const f of fields) {
      const a = r[f] as unknown as string | null;
      if (a && names.has(a)) extra[`${f}Name`] = names.get(a)!;
    }
    return { ...r, ...extra } as T & Partial<Record<`${K}Name`, string>>;
  });
}

/** Actor identities as they appear inside text the gate wrote ("approved for production by token:cli#5"). */
const ACTOR_IN_TEXT = /\b(?:token:[\w.@-]+#\d+|user:[\w.@-]+)/g;

/**
 * Lines the gate wrote with machine identities in them (a decision's reasons), as people read them:
 * "approved for production by alice (token cli)". Admission keeps the identities (its messages go
 * to kubectl and the audit trail); what the dashboard shows names people.
 */
export async function inPeopleWords(db: Db, lines: string[][]): Promise<string[][]> {
  const names = await peopleNames(
    db,
    lines.flatMap((l) => l.flatMap((x) => x.match(ACTOR_IN_TEXT) ?? [])),
  );
  return lines.map((l) => l.map((x) => x.replace(ACTOR_IN_TEXT, (a) => names.get(a) ?? a)));
}
