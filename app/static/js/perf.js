// Performance measures that end once the browser has painted the change, not when our code returns:
// requestAnimationFrame runs before the next paint, the timeout after it. bench/ui.py reads them.
export function measureAfterPaint(name, start) {
  requestAnimationFrame(() => setTimeout(() => performance.measure(name, { start, end: performance.now() }), 0));
}
