// moodscore demo: the page. Wires the engine's WebSocket to the pad, the piano roll, the
// notation and the synth, and keeps a debug object (window.moodscoreDemo) that tests read.

import { EngineClock, Link } from "./link.js";
import { describe } from "./mood.js";
import { Notation } from "./notation.js";
import { Pad } from "./pad.js";
import { Roll } from "./roll.js";
import { Synth } from "./synth.js";

const $ = (id) => document.getElementById(id);
const clock = new EngineClock();
const synth = new Synth();
const roll = new Roll($("roll"), clock);
const notation = new Notation($("notation"));
const counts = { beat: 0, bar: 0, phrase: 0, midi: 0, midiMessages: 0, errors: 0 };
const latencies = []; // from the last target sent to the first phrase made for it
let state = null;
let playing = null; // the mood of the phrase now sounding
const sent = []; // {mood, at, answered}: the targets sent lately, to time the phrase made for each
const phrases = []; // phrase events whose start is still ahead, to show when they sound

const debug = {
  counts, latencies, clock, synth, roll, notation,
  get connected() { return link.connected; },
  get target() { return pad.target; },
  get playing() { return playing; },
  get state() { return state; },
  lastPhrase: null,
  tempo: null,
  errors: [],
  send: (message) => link.send(message),
};
window.moodscoreDemo = debug;

function status(text) {
  $("status").textContent = text;
}

function showError(text) {
  counts.errors += 1;
  debug.errors.push(text);
  status(`engine: ${text}`);
}

const link = new Link(`ws://${location.host}/ws`, {
  onEvent: handle,
  onStatus: (s) => { status(s); if (s === "connected") loadState(); },
  onError: showError,
});

const pad = new Pad($("pad"), {
  onTarget: (mood) => {
    $("target-mood").textContent = describe(mood);
    sent.push({ mood, at: performance.now(), answered: false });
    if (sent.length > 200) sent.shift();
    link.send({ type: "va", valence: mood[0], arousal: mood[1] });
  },
});

async function loadState() {
  state = await (await fetch("state.json")).json();
  for (const [ch, program] of Object.entries(state.programs)) synth.midi([0xc0 | Number(ch), program]);
  const select = $("transition");
  select.replaceChildren(...state.transitions.map((m) => new Option(m, m, false, m === state.transition)));
  if (state.styles) {
    $("style").replaceChildren(...state.styles.map((s) => new Option(s, s, false, s === state.style)));
  }
  if (typeof state.intensity === "number" && debug.intensitySent === undefined) $("intensity").value = state.intensity;
  if (!$("theme-abc").value) $("theme-abc").value = exampleTheme(state.meter);
  $("stingers").replaceChildren(...state.stingers.map((name) => {
    const b = document.createElement("button");
    b.textContent = name;
    b.addEventListener("click", () => link.send({ type: "stinger", name }));
    return b;
  }));
  if (!pad.target) {
    pad.target = state.mood.target;
    $("target-mood").textContent = describe(pad.target);
  }
  if (!playing) { // until the next phrase starts: the engine's mood now
    pad.playing = state.mood.now;
    $("current-mood").textContent = describe(state.mood.now);
  }
  $("soundfont").textContent = `${state.soundfont.name}, ${(state.soundfont.bytes / 1e6).toFixed(1)} MB`;
  pad.draw();
}

// A tune to start from, in the music's meter: a rising and falling line of whole bars.
function exampleTheme(meter) {
  const [beats, unit] = meter.split("/").map(Number);
  const line = ["C", "D", "E", "F", "G", "A", "G", "F", "E", "D", "E", "C"];
  const bars = [];
  for (let b = 0, i = 0; b < 2; b += 1) {
    const bar = [];
    for (let k = 0; k < beats; k += 1, i += 1) bar.push(line[i % line.length]);
    bars.push(bar.join(""));
  }
  return `X:1\nT:theme\nM:${meter}\nL:1/${unit}\nK:C\n${bars.join("|")}|\n`;
}

function handle(event) {
  counts[event.type] = (counts[event.type] || 0) + 1;
  if (event.type === "midi") {
    clock.observe(event.time);
    for (const bytes of event.data) {
      synth.midi(bytes);
      roll.midi(event.time, bytes);
    }
    counts.midiMessages += event.data.length;
  } else if (event.type === "beat" || event.type === "bar") {
    clock.observe(event.time);
    debug.tempo = event.tempo;
    $("tempo").textContent = event.tempo.toFixed(0);
    $("position").textContent = `${event.bar + 1}.${event.beat + 1}`;
  } else if (event.type === "phrase") {
    debug.lastPhrase = event;
    roll.phrase(event);
    phrases.push(event);
    // The engine asks for new material when a target moves far enough, with that target's mood:
    // the time from sending it to the phrase made for it (and to when that phrase sounds).
    const target = event.mood && sent.find((s) => !s.answered
      && Math.abs(event.mood[0] - s.mood[0]) < 2e-3 && Math.abs(event.mood[1] - s.mood[1]) < 2e-3);
    if (target) {
      target.answered = true;
      const sounds = clock.toPage(event.start_time);
      latencies.push({ mood: target.mood, phraseMs: performance.now() - target.at,
        soundMs: sounds === null ? null : sounds * 1000 - target.at, bars: event.bars });
    }
  }
}

// Phrases are announced a little before they sound; show each one when it does.
function frame() {
  const now = clock.now();
  while (now !== null && phrases.length && phrases[0].start_time <= now) {
    const event = phrases.shift();
    if (phrases.length && phrases[0].start_time <= now) continue; // a newer one is already due
    notation.show(event, state ? state.meter : "4/4");
    playing = event.mood;
    pad.playing = playing;
    $("current-mood").textContent = describe(playing) + (event.variation ? " (variation)" : "");
    pad.draw();
  }
  roll.draw();
  $("level").value = synth.level.rms;
  requestAnimationFrame(frame);
}

$("transition").addEventListener("change", (e) => link.send({ type: "transition", mode: e.target.value }));
$("style").addEventListener("change", (e) => link.send({ type: "style", name: e.target.value }));
$("intensity").addEventListener("input", (e) => {
  const value = Number(e.target.value);
  debug.intensitySent = value;
  $("intensity-value").textContent = value.toFixed(2);
  link.send({ type: "intensity", value, glide: 0.5 });
});
$("play").addEventListener("click", () => link.send({ type: "play" }));
$("stop").addEventListener("click", () => {
  const at = $("stop-at").value;
  if (at === "now") {
    link.send({ type: "stop" });
    roll.clear();
  } else {
    link.send({ type: "stop", at }); // a cadence and a final chord at that boundary, then silence
  }
});
$("theme-send").addEventListener("click", async () => {
  $("theme-status").textContent = "sending…";
  const reply = await link.send({ type: "theme", abc: $("theme-abc").value });
  debug.themeReply = reply;
  $("theme-status").textContent = reply.type === "ack" ? "the next phrase opens with it" : reply.error;
});
$("volume").addEventListener("input", (e) => synth.volume(Number(e.target.value)));

$("start-audio").addEventListener("click", async () => {
  const button = $("start-audio");
  button.disabled = true;
  debug.startClickedAt = performance.now();
  try {
    await synth.start({
      worklet: "vendor/spessasynth_processor.min.js",
      soundfont: "soundfont",
      onProgress: (text) => { $("audio-progress").textContent = `${text}…`; },
    });
    $("overlay").hidden = true;
    $("audio-state").textContent = "on";
  } catch (err) {
    $("audio-progress").textContent = `Audio could not start: ${err.message}`;
    debug.errors.push(String(err));
    button.disabled = false;
  }
});
$("watch-only").addEventListener("click", () => { $("overlay").hidden = true; });
$("audio-toggle").addEventListener("click", () => { if (!synth.ready) $("overlay").hidden = false; });

link.connect();
requestAnimationFrame(frame);
