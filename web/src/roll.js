// The piano roll: what the engine played (from its MIDI messages, filled) and what it has
// scheduled next (the melody of each phrase event, outlined), on the engine's clock.

import { fitCanvas } from "./canvas.js";

const CHANNELS = {
  0: ["melody", "#e07a1f"], 1: ["chords", "#3b7dd8"], 2: ["bass", "#2e9e6a"],
  3: ["stinger", "#b0359c"], 9: ["drums", "#777777"],
};
const LOW = 24, HIGH = 96; // C1..C7: the parts' registers; drums get a lane of their own
const PAST_S = 6, AHEAD_S = 6, KEEP_S = 30;

export class Roll {
  constructor(canvas, clock) {
    this.canvas = canvas;
    this.clock = clock;
    this.notes = []; // {ch, pitch, vel, on, off}: engine seconds
    this.sounding = new Map(); // "ch:pitch" -> [notes struck, not yet ended]
    this.upcoming = []; // {pitch, on, off, phrase}: the melody scheduled, from phrase events
    this.played = 0;
    this.drawn = 0; // notes on the canvas in the last frame
    this.drawnUpcoming = 0;
  }

  midi(time, bytes) {
    const [status, d1, d2] = bytes;
    const kind = status & 0xf0, ch = status & 0x0f;
    if (kind === 0x90 && d2 > 0) {
      const note = { ch, pitch: d1, vel: d2, on: time, off: null };
      this.notes.push(note);
      const key = `${ch}:${d1}`;
      if (!this.sounding.has(key)) this.sounding.set(key, []);
      this.sounding.get(key).push(note);
      this.played += 1;
    } else if (kind === 0x80 || (kind === 0x90 && d2 === 0)) {
      const open = this.sounding.get(`${ch}:${d1}`);
      const note = open && open.shift();
      if (note) note.off = time;
    } else if (kind === 0xb0 && (d1 === 123 || d1 === 120)) { // all notes / sound off
      for (const [key, open] of this.sounding) {
        if (key.startsWith(`${ch}:`)) for (const note of open.splice(0)) note.off = time;
      }
    }
  }

  phrase(event) {
    // A phrase event replaces whatever was planned from its start on (a rewritten bar).
    const spb = 60 / event.tempo;
    this.upcoming = this.upcoming.filter((n) => n.on < event.start_time);
    for (const n of event.notes) {
      const on = event.start_time + n.start * spb;
      this.upcoming.push({ pitch: n.pitch, on, off: on + n.duration * spb, phrase: event.index });
    }
  }

  clear() {
    this.upcoming = [];
  }

  draw() {
    const { g, w, h, dpr } = fitCanvas(this.canvas);
    const now = this.clock.now();
    const drumLane = 18 * dpr, keysH = h - drumLane;
    const x = (t) => ((t - now + PAST_S) / (PAST_S + AHEAD_S)) * w;
    const y = (p) => keysH - ((p - LOW + 1) / (HIGH - LOW + 1)) * keysH;
    const rowH = keysH / (HIGH - LOW + 1);
    for (let p = LOW; p <= HIGH; p++) { // black keys shaded, C lines
      if ([1, 3, 6, 8, 10].includes(p % 12)) { g.fillStyle = "#00000008"; g.fillRect(0, y(p), w, rowH); }
      if (p % 12 === 0) { g.fillStyle = "#0002"; g.fillRect(0, y(p) + rowH - dpr, w, dpr); }
    }
    g.fillStyle = "#0001";
    g.fillRect(0, keysH, w, drumLane);
    this.drawn = 0;
    this.drawnUpcoming = 0;
    if (now === null) return;
    this.notes = this.notes.filter((n) => n.off === null || n.off > now - KEEP_S);
    this.upcoming = this.upcoming.filter((n) => n.off > now - 1);
    g.setLineDash([3 * dpr, 2 * dpr]);
    g.strokeStyle = CHANNELS[0][1];
    g.lineWidth = 1.2 * dpr;
    for (const n of this.upcoming) { // only what is still to come: the rest is in the played notes
      if (n.on < now || n.on > now + AHEAD_S || n.pitch < LOW || n.pitch > HIGH) continue;
      g.strokeRect(x(n.on), y(n.pitch), Math.max(2 * dpr, x(n.off) - x(n.on)), rowH);
      this.drawnUpcoming += 1;
    }
    g.setLineDash([]);
    for (const n of this.notes) {
      const end = n.off === null ? now : n.off;
      if (end < now - PAST_S || n.on > now + AHEAD_S) continue;
      const colour = (CHANNELS[n.ch] || ["", "#555"])[1];
      g.globalAlpha = 0.35 + 0.65 * (n.vel / 127);
      g.fillStyle = colour;
      if (n.ch === 9) {
        g.fillRect(x(n.on), keysH + ((n.pitch % 6) / 6) * drumLane, 3 * dpr, drumLane / 6);
      } else if (n.pitch >= LOW && n.pitch <= HIGH) {
        g.fillRect(x(n.on), y(n.pitch), Math.max(2 * dpr, x(end) - x(n.on)), rowH);
      }
      this.drawn += 1;
    }
    g.globalAlpha = 1;
    g.fillStyle = "#c22";
    g.fillRect(x(now) - dpr, 0, 2 * dpr, h); // now
    g.font = `${11 * dpr}px system-ui, sans-serif`;
    g.textBaseline = "top";
    let lx = 8 * dpr;
    for (const [, [name, colour]] of Object.entries(CHANNELS)) {
      g.fillStyle = colour;
      g.fillText(name, lx, 6 * dpr);
      lx += g.measureText(name).width + 12 * dpr;
    }
    g.fillStyle = "#0008";
    g.fillText("played ← now → scheduled (outlined)", lx + 8 * dpr, 6 * dpr);
  }
}
