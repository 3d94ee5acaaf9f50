// The General MIDI synth: spessasynth_lib's SoundFont synthesizer in an AudioWorklet, fed the
// engine's MIDI bytes as they arrive, with a level meter (an AnalyserNode) after it.

import { WorkletSynthesizer } from "spessasynth_lib";

export class Synth {
  constructor() {
    this.ctx = null;
    this.synth = null;
    this.ready = false;
    this.programs = new Map(); // channel -> program, kept before the synth is ready too
    this.received = 0; // MIDI messages played
    this.level = { rms: 0, peak: 0, frames: 0, firstSoundAt: null, blocks: 0 };
    this.timing = {};
  }

  // Must be called from a user gesture (a click): browsers only start audio then.
  async start({ worklet, soundfont, onProgress }) {
    const t0 = performance.now();
    if (!window.isSecureContext) { // AudioWorklet exists only there
      throw new Error(`browsers run the synth only on http://127.0.0.1, http://localhost or https; open http://127.0.0.1:${location.port}/`);
    }
    this.ctx = new AudioContext({ latencyHint: "interactive" });
    const resumed = this.ctx.resume();
    this.gain = this.ctx.createGain();
    this.analyser = this.ctx.createAnalyser();
    this.analyser.fftSize = 2048;
    this.gain.connect(this.analyser).connect(this.ctx.destination);
    onProgress("starting the synth");
    await this.ctx.audioWorklet.addModule(worklet);
    this.synth = new WorkletSynthesizer(this.ctx);
    this.synth.connect(this.gain);
    onProgress("loading the SoundFont");
    const t1 = performance.now();
    const response = await fetch(soundfont);
    if (!response.ok) throw new Error(`SoundFont: HTTP ${response.status}`);
    const bank = await response.arrayBuffer();
    const bytes = bank.byteLength; // the buffer is handed over to the worklet below
    const t2 = performance.now();
    await this.synth.soundBankManager.addSoundBank(bank, "moodscore");
    await this.synth.isReady;
    await resumed;
    const t3 = performance.now();
    this.timing = { startedAt: t0, workletMs: t1 - t0, fetchMs: t2 - t1, soundfontBytes: bytes, loadMs: t3 - t2, readyAt: t3 };
    for (const [ch, program] of this.programs) this.synth.programChange(ch, program);
    this.ready = true;
    this.meter();
  }

  midi(bytes) {
    const [status, program] = bytes;
    if ((status & 0xf0) === 0xc0) this.programs.set(status & 0x0f, program);
    if (!this.ready) return;
    this.synth.sendMessage(bytes);
    this.received += 1;
  }

  volume(x) {
    if (this.gain) this.gain.gain.value = x;
  }

  meter() {
    const buffer = new Float32Array(this.analyser.fftSize);
    setInterval(() => {
      this.analyser.getFloatTimeDomainData(buffer);
      let sum = 0;
      for (const x of buffer) sum += x * x;
      const rms = Math.sqrt(sum / buffer.length);
      this.level.rms = rms;
      this.level.peak = Math.max(this.level.peak, rms);
      this.level.blocks += 1;
      if (rms > 1e-3) {
        this.level.frames += 1;
        if (this.level.firstSoundAt === null) this.level.firstSoundAt = performance.now();
      }
    }, 50);
  }
}
