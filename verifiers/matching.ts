// Maximum bipartite matching (Kuhn's augmenting paths): small sets, so O(V * E) is plenty.

/**
 * The largest set of pairs (left i, right j) with edge(i, j), each side used at most once. `pairs[i]` is the right
 * index matched to left i, or -1.
 */
export function maxMatching(left: number, right: number, edge: (i: number, j: number) => boolean): { size: number; pairs: number[] } {
  const adj = Array.from({ length: left }, (_, i) => Array.from({ length: right }, (_, j) => j).filter((j) => edge(i, j)));
  const ownerOf = new Array<number>(right).fill(-1);
  const augment = (i: number, seen: boolean[]): boolean => {
    for (const j of adj[i]) {
      if (seen[j]) continue;
      seen[j] = true;
      if (ownerOf[j] < 0 || augment(ownerOf[j], seen)) {
        ownerOf[j] = i;
        return true;
      }
    }
    return false;
  };
  let size = 0;
  for (let i = 0; i < left; i++) if (augment(i, new Array<boolean>(right).fill(false))) size++;
  const pairs = new Array<number>(left).fill(-1);
  ownerOf.forEach((i, j) => {
    if (i >= 0) pairs[i] = j;
  });
  return { size, pairs };
}
