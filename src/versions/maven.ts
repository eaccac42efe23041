import { compareStrings, type VersionScheme } from './scheme.js';

/*
 * Maven's ComparableVersion: items split on `.` and `-` and at digit/letter transitions; a `-`
 * or a transition opens a nested list. Known qualifiers sort alpha < beta < milestone < rc <
 * snapshot < (release) < sp, unknown ones after all of them, alphabetically. Trailing "null"
 * items (0, "", ga, final, release) are dropped from each list.
 */
type Item = { kind: 'int'; value: bigint } | { kind: 'str'; value: string } | { kind: 'list'; items: Item[] };

const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const ALIASES: Record<string, string> = { ga: '', final: '', release: '', cr: 'rc' };
const RELEASE_INDEX = String(QUALIFIERS.indexOf(''));

function strItem(value: string, followedByDigit: boolean): Item {
  let v = value;
  if (followedByDigit && v.length === 1) v = { a: 'alpha', b: 'beta', m: 'milestone' }[v] ?? v;
  return { kind: 'str', value: ALIASES[v] ?? v };
}

function parseItem(isDigit: boolean, text: string): Item {
  return isDigit ? { kind: 'int', value: BigInt(text) } : strItem(text, false);
}

function isNull(it: Item): boolean {
  if (it.kind === 'int') return it.value === 0n;
  if (it.kind === 'str') return it.value === '';
  return it.items.length === 0;
}

/**
 * Trim "null" items at the end of a list and, as the version-order spec says, again before each
 * hyphen (a null directly followed by a nested list): 1-ga-1 is 1-1, 1.0-1 is 1-1.
 */
function normalize(list: Item[]): void {
  // A hyphen list left holding only the next hyphen list (1-ga-1 → 1-[-1]) is that list.
  for (let i = 0; i < list.length; i++) {
    let it = list[i];
    while (it.kind === 'list' && it.items.length === 1 && it.items[0].kind === 'list') it = it.items[0];
    list[i] = it;
  }
  for (let i = list.length - 1; i >= 0; i--) {
    const it = list[i];
    const beforeHyphen = i + 1 < list.length && list[i + 1].kind === 'list';
    if (isNull(it) && (i === list.length - 1 || beforeHyphen)) list.splice(i, 1);
    else if (it.kind !== 'list' && i === list.length - 1) break;
  }
}

export function parseMaven(version: string): Item {
  const v = version.trim().toLowerCase();
  const root: Item[] = [];
  let list = root;
  const stack: Item[][] = [root];
  let isDigit = false;
  let start = 0;
  const nest = () => {
    const child: Item[] = [];
    list.push({ kind: 'list', items: child });
    list = child;
    stack.push(child);
  };
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === '.') {
      list.push(i === start ? { kind: 'int', value: 0n } : parseItem(isDigit, v.slice(start, i)));
      start = i + 1;
    } else if (c === '-') {
      list.push(i === start ? { kind: 'int', value: 0n } : parseItem(isDigit, v.slice(start, i)));
      start = i + 1;
      nest();
    } else if (c >= '0' && c <= '9') {
      if (!isDigit && i > start) {
        list.push(strItem(v.slice(start, i), true));
        start = i;
        nest();
      }
      isDigit = true;
    } else {
      if (isDigit && i > start) {
        list.push(parseItem(true, v.slice(start, i)));
        start = i;
        nest();
      }
      isDigit = false;
    }
  }
  if (v.length > start) list.push(parseItem(isDigit, v.slice(start)));
  while (stack.length) normalize(stack.pop()!);
  return { kind: 'list', items: root };
}

function comparable(q: string): string {
  const i = QUALIFIERS.indexOf(q);
  return i >= 0 ? String(i) : `${QUALIFIERS.length}-${q}`;
}

/** Compare an item with another, or with nothing (undefined). */
function cmp(a: Item, b: Item | undefined): number {
  switch (a.kind) {
    case 'int':
      if (!b) return a.value === 0n ? 0 : 1;
      if (b.kind === 'int') return a.value === b.value ? 0 : a.value < b.value ? -1 : 1;
      return 1;
    case 'str':
      if (!b) return compareStrings(comparable(a.value), RELEASE_INDEX);
      if (b.kind === 'int' || b.kind === 'list') return -1;
      return compareStrings(comparable(a.value), comparable(b.value));
    case 'list': {
      if (!b) return a.items.length === 0 ? 0 : cmp(a.items[0], undefined);
      if (b.kind === 'int') return -1;
      if (b.kind === 'str') return 1;
      const n = Math.max(a.items.length, b.items.length);
      for (let i = 0; i < n; i++) {
        const l = a.items[i];
        const r = b.items[i];
        const d = l === undefined ? (r === undefined ? 0 : -cmp(r, undefined)) : cmp(l, r);
        if (d) return d;
      }
      return 0;
    }
  }
}

export const mavenScheme: VersionScheme = {
  name: 'maven',
  compare: (a, b) => cmp(parseMaven(a), parseMaven(b)),
  valid: (v) => v.trim() !== '',
};
