// The valence-arousal pad: drag (mouse, pen or touch) or use the arrow keys to set the target
// mood. Targets go out at most every `intervalMs`, and the last one always does.

import { QUADRANTS, clamp } from "./mood.js";
import { fitCanvas } from "./canvas.js";

export class Pad {
  constructor(canvas, { onTarget, intervalMs = 50 }) {
    this.canvas = canvas;
    this.onTarget = onTarget;
    this.intervalMs = intervalMs;
    this.target = null; // [valence, arousal] the user asked for
    this.playing = null; // the mood of the music sounding now
    this.dragging = false;
    this.lastSent = -Infinity;
    this.timer = null;
    this.sent = 0;
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.dragging && this.move(e));
    canvas.addEventListener("pointerup", (e) => this.up(e));
    canvas.addEventListener("pointercancel", (e) => this.up(e));
    canvas.addEventListener("keydown", (e) => this.key(e));
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  pointToMood(e) {
    const r = this.canvas.getBoundingClientRect();
    return [clamp(((e.clientX - r.left) / r.width) * 2 - 1), clamp(1 - ((e.clientY - r.top) / r.height) * 2)];
  }

  down(e) {
    this.canvas.setPointerCapture(e.pointerId);
    this.dragging = true;
    this.move(e);
  }

  move(e) {
    this.set(this.pointToMood(e), false);
  }

  up(e) {
    if (!this.dragging) return;
    this.dragging = false;
    this.set(this.pointToMood(e), true);
  }

  key(e) {
    const step = { ArrowLeft: [-0.1, 0], ArrowRight: [0.1, 0], ArrowUp: [0, 0.1], ArrowDown: [0, -0.1] }[e.key];
    if (!step) return;
    e.preventDefault();
    const [v, a] = this.target || this.playing || [0, 0];
    this.set([clamp(v + step[0]), clamp(a + step[1])], true);
  }

  set(mood, final) {
    this.target = mood.map((x) => Math.round(x * 1000) / 1000);
    this.draw();
    const wait = this.lastSent + this.intervalMs - performance.now();
    clearTimeout(this.timer);
    if (final || wait <= 0) {
      this.send();
    } else {
      this.timer = setTimeout(() => this.send(), wait);
    }
  }

  send() {
    this.lastSent = performance.now();
    this.sent += 1;
    this.onTarget(this.target);
  }

  draw() {
    const { g, w, h, dpr } = fitCanvas(this.canvas);
    const cells = { Q2: [0, 0], Q1: [1, 0], Q3: [0, 1], Q4: [1, 1] };
    for (const [q, [i, j]] of Object.entries(cells)) {
      g.fillStyle = QUADRANTS[q].colour + "40";
      g.fillRect((i * w) / 2, (j * h) / 2, w / 2, h / 2);
      g.fillStyle = "#000b";
      g.font = `${13 * dpr}px system-ui, sans-serif`;
      g.textAlign = i ? "right" : "left";
      g.textBaseline = j ? "bottom" : "top";
      g.fillText(`${q} ${QUADRANTS[q].name}`, i ? w - 8 * dpr : 8 * dpr, j ? h - 8 * dpr : 8 * dpr);
    }
    g.strokeStyle = "#0003";
    g.lineWidth = dpr;
    g.beginPath(); g.moveTo(w / 2, 0); g.lineTo(w / 2, h); g.moveTo(0, h / 2); g.lineTo(w, h / 2); g.stroke();
    g.fillStyle = "#0008";
    g.font = `${11 * dpr}px system-ui, sans-serif`;
    g.textAlign = "center"; g.textBaseline = "bottom";
    g.fillText("valence →", w * 0.75, h / 2 - 4 * dpr);
    g.save(); g.translate(w / 2 + 4 * dpr, h * 0.25); g.rotate(-Math.PI / 2); g.textBaseline = "top";
    g.fillText("arousal →", 0, 0); g.restore();
    const at = ([v, a]) => [((v + 1) / 2) * w, ((1 - a) / 2) * h];
    if (this.playing) {
      const [x, y] = at(this.playing);
      g.fillStyle = "#222";
      g.beginPath(); g.arc(x, y, 7 * dpr, 0, 2 * Math.PI); g.fill();
    }
    if (this.target) {
      const [x, y] = at(this.target);
      g.strokeStyle = "#222"; g.lineWidth = 2.5 * dpr;
      g.beginPath(); g.arc(x, y, 12 * dpr, 0, 2 * Math.PI); g.stroke();
      if (this.playing) {
        const [px, py] = at(this.playing);
        g.setLineDash([4 * dpr, 4 * dpr]); g.lineWidth = dpr;
        g.beginPath(); g.moveTo(px, py); g.lineTo(x, y); g.stroke(); g.setLineDash([]);
      }
    }
  }
}
