// Maximum bipartite matching (Kuhn's augmenting paths): small sets, so O(V * E) is plenty.

/**
 * The largest set of pairs (left i, right j) with edge(i, j), each side used at most once. `pairs[i]` is the right
 * index matched to left i, or -1.
 */
export function maxMatching(left: number, right: number, edge: (i: number, j: number) => boolean): { size: number; pairs: number[] } {
  const adj = Array.from({ length: left }, (_, i) => Array.from({ length: right }, (_, j) => j).filter((j) => edge(i, j)));
  return maxMatchingOf(adj, right);
}

/**
 * As maxMatching, from each left's list of right candidates (`adj[i]`), for sides too large to test every pair;
 * `initial` (the left owning each right, or -1) is a matching to grow, e.g. a greedy one.
 */
export function maxMatchingOf(adj: number[][], right: number, initial?: number[]): { size: number; pairs: number[] } {
  const ownerOf = initial ? [...initial] : new Array<number>(right).fill(-1);
  const matched = new Set(ownerOf.filter((i) => i >= 0));
  // seenBy[j] === i + 1 when right j was visited while augmenting from left i (no fresh array per left).
  const seenBy = new Int32Array(right);
  const augment = (i: number, stamp: number): boolean => {
    for (const j of adj[i]) {
      if (seenBy[j] === stamp) continue;
      seenBy[j] = stamp;
      if (ownerOf[j] < 0 || augment(ownerOf[j], stamp)) {
        ownerOf[j] = i;
        return true;
      }
    }
    return false;
  };
  let size = 0;
  for (let i = 0; i < adj.length; i++) if (matched.has(i) || augment(i, i + 1)) size++;
  const pairs = new Array<number>(adj.length).fill(-1);
  ownerOf.forEach((i, j) => {
    if (i >= 0) pairs[i] = j;
  });
  return { size, pairs };
}
