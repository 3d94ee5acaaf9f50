// The current phrase as notation: its ABC (C as tonic, the mode its valence picked) via abcjs.

import abcjs from "abcjs";
import { abcMode } from "./mood.js";

export class Notation {
  constructor(element) {
    this.element = element;
    this.rendered = 0;
    this.notes = 0; // note heads in the last rendering
    this.abc = "";
  }

  show(event, meter) {
    const mode = abcMode(event.mood ? event.mood[0] : 1);
    const title = `phrase ${event.index}${event.variation ? " (variation)" : ""}, ${Math.round(event.tempo)} BPM`;
    this.abc = `X:1\nT:${title}\nM:${meter}\nL:1/8\nQ:1/4=${Math.round(event.tempo)}\nK:C${mode}\n${event.abc}\n`;
    abcjs.renderAbc(this.element, this.abc, { responsive: "resize", add_classes: true, paddingtop: 0 });
    this.rendered += 1;
    this.notes = this.element.querySelectorAll(".abcjs-note").length;
  }
}
