/** Moves `list[i]` by one place up (-1) or down (1), in place; no-op at the ends. */
export function moveItem<T>(list: T[], i: number, by: -1 | 1): void {
  const j = i + by;
  if (j < 0 || j >= list.length) return;
  const [it] = list.splice(i, 1);
  list.splice(j, 0, it!);
}
