// Canvas helpers shared by the pad and the piano roll.

/** Size the canvas's backing store to its CSS box at the device's pixel ratio, clear it, and
 *  return its 2D context with the pixel size and ratio. */
export function fitCanvas(c) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.round(c.clientWidth * dpr), h = Math.round(c.clientHeight * dpr);
  if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
  const g = c.getContext("2d");
  g.clearRect(0, 0, w, h);
  return { g, w, h, dpr };
}
