// The engine's WebSocket: JSON messages out, replies (in order) and events in; reconnects.

export class Link {
  constructor(url, { onEvent, onStatus, onError }) {
    this.url = url;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.onError = onError;
    this.ws = null;
    this.waiting = []; // resolvers of sent messages, answered in order
    this.connected = false;
    this.connects = 0;
  }

  connect() {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    this.onStatus("connecting");
    ws.onopen = () => {
      this.connected = true;
      this.connects += 1;
      this.onStatus("connected");
      this.send({ type: "subscribe", events: ["beat", "bar", "phrase", "midi"] });
    };
    ws.onmessage = (frame) => {
      const msg = JSON.parse(frame.data);
      if (msg.type === "ack" || msg.type === "error") {
        const resolve = this.waiting.shift();
        if (msg.type === "error") this.onError(msg.error);
        if (resolve) resolve(msg);
      } else {
        this.onEvent(msg);
      }
    };
    ws.onclose = () => {
      this.connected = false;
      for (const resolve of this.waiting.splice(0)) resolve({ type: "error", error: "disconnected" });
      this.onStatus("disconnected; retrying");
      setTimeout(() => this.connect(), 1000);
    };
  }

  send(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.resolve({ type: "error", error: "not connected" });
    }
    this.ws.send(JSON.stringify(message));
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}

// Engine clock (seconds, time.perf_counter on the server) to page clock (performance.now()/1000).
// Beat and MIDI events leave the engine at the moment they sound, so arrival minus engine time
// is the offset plus the trip; the smallest recent value is the offset.
export class EngineClock {
  constructor() {
    this.samples = [];
    this.offset = null;
  }

  observe(engineTime) {
    const sample = performance.now() / 1000 - engineTime;
    this.samples.push(sample);
    if (this.samples.length > 64) this.samples.shift();
    this.offset = Math.min(...this.samples);
  }

  now() {
    return this.offset === null ? null : performance.now() / 1000 - this.offset;
  }

  toPage(engineTime) {
    return this.offset === null ? null : engineTime + this.offset;
  }
}
