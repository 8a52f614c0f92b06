// When two display names are the same name to a reader. Accounts' names are unique under this
// key, and a guest cannot take an account's: "ADA", "Ada" in full-width letters, and "Аda" with a
// Cyrillic А all read as Ada, so none of them may pose as her. Guests may share a name with each
// other (each guest sign-in is a new person, PROTOCOL.md § Version 1.2): people shown together
// under one name are told apart by a tag drawn from who they are.

/**
 * Letters of other scripts that look like a Latin letter, folded to it (after lower-casing).
 * The common lookalikes of Unicode's confusables list (UTS #39) for Cyrillic, Greek and a few
 * Latin variants; written out here because a skeleton of the whole list is far more than names
 * of at most 32 characters need.
 */
const LOOKALIKES: Record<string, string> = {
  // Cyrillic
  а: "a", в: "b", е: "e", ё: "e", һ: "h", і: "i", ї: "i", ј: "j", к: "k", ӏ: "l", м: "m", н: "h", о: "o",
  р: "p", ԛ: "q", с: "c", ѕ: "s", т: "t", у: "y", ў: "y", х: "x", ԝ: "w", ԁ: "d", ɡ: "g", ь: "b",
  // Greek
  α: "a", β: "b", ε: "e", η: "n", ι: "i", κ: "k", ν: "v", ο: "o", ρ: "p", τ: "t", υ: "u", χ: "x", ω: "w",
  // Latin variants and digits read as letters
  ı: "i", ł: "l", ℓ: "l", ſ: "s", "0": "o", "1": "l", "|": "l",
};

/** Characters that show as nothing: a name holding one could pose as another name exactly. */
export const INVISIBLE = /[\u00AD\u180E\u200B-\u200D\u2060-\u2064\uFEFF]/;

/** The name as a reader tells names apart: compatibility forms, case and lookalikes folded. */
export function nameKey(name: string): string {
  const folded = name.normalize("NFKC").toLowerCase().normalize("NFKD").replace(/\p{M}/gu, "");
  let key = "";
  for (const ch of folded) key += LOOKALIKES[ch] ?? ch;
  return key.replace(/\s+/g, " ").trim();
}

/**
 * The names (as `nameKey`s) that two or more different people among `people` go by: empty,
 * nearly always.
 */
export function sharedNames(people: Iterable<{ id: string; name: string }>): Set<string> {
  const firstIdOf = new Map<string, string>();
  const shared = new Set<string>();
  for (const person of people) {
    const key = nameKey(person.name);
    const first = firstIdOf.get(key);
    if (first === undefined) firstIdOf.set(key, person.id);
    else if (first !== person.id) shared.add(key);
  }
  return shared;
}

/** "#4821": four digits drawn from a person's id, the same wherever and whenever they are shown. */
export function nameTag(id: string): string {
  // FNV-1a: a stable spread of the id, not a secret.
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
  return `#${String((hash >>> 0) % 10_000).padStart(4, "0")}`;
}

/**
 * A person's name as shown among others: "Ada #4821" when someone else there goes by it too
 * (`shared`, from `sharedNames`), "Ada" otherwise.
 */
export function distinctName(person: { id: string; name: string }, shared: ReadonlySet<string>): string {
  return shared.size > 0 && shared.has(nameKey(person.name)) ? `${person.name} ${nameTag(person.id)}` : person.name;
}
