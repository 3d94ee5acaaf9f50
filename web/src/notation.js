// The current phrase as notation: its ABC (C as tonic, in the key the engine says) via abcjs.

import abcjs from "abcjs";

export class Notation {
  constructor(element) {
    this.element = element;
    this.rendered = 0;
    this.notes = 0; // note heads in the last rendering
    this.abc = "";
  }

  show(event, meter) {
    const title = `phrase ${event.index}${event.variation ? " (variation)" : ""}, ${Math.round(event.tempo)} BPM`;
    this.abc = `X:1\nT:${title}\nM:${meter}\nL:1/8\nQ:1/4=${Math.round(event.tempo)}\nK:${event.key || "C"}\n${event.abc}\n`;
    abcjs.renderAbc(this.element, this.abc, { responsive: "resize", add_classes: true, paddingtop: 0 });
    this.rendered += 1;
    this.notes = this.element.querySelectorAll(".abcjs-note").length;
  }
}
