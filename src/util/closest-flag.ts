// "did you mean --X?" for a mistyped flag, the same way in the CLI's commands and in the operator's
// configuration: a prefix of three letters or more, or a few edits away.

/** The known flag closest to `name`, or undefined when none is close enough to be a typo of it. */
export function closestFlag(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const flag of known) {
    // A prefix ("--leader") is as good a hint as a one-letter typo.
    const distance = name.length >= 3 && flag.startsWith(name) ? 1 : editDistance(name, flag);
    if (distance < bestDistance) {
      best = flag;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}

/** Levenshtein distance: insertions, deletions and substitutions, one each. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
