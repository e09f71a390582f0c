/** Anything with tap's `teardown` or node:test's `after`. */
export interface TestLike {
  teardown?: (fn: () => unknown) => void
  after?: (fn: () => unknown) => void
}

export function onTeardown(t: TestLike | undefined, fn: () => unknown): void {
  if (!t) return
  if (typeof t.teardown === 'function') t.teardown(fn)
  else if (typeof t.after === 'function') t.after(fn)
}
