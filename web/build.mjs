// Build the demo page into moodscore/demo/static/ (run by build.sh, which installs the packages
// from the lockfile first):
//   app.js, index.html, style.css      the page: src/ bundled with abcjs and spessasynth_lib
//   vendor/spessasynth_processor.min.js   the synth's AudioWorklet, as the package ships it
//   vendor/LICENSES.txt                the licences of what is bundled
//   soundfont/moodscore-gm.sf3         the GM presets moodscore plays, from FluidR3_GM, Vorbis
//   soundfont/README.txt               where it comes from, its licence
//   BUILD.json                         package versions, and each file's size and SHA-256
// Usage: node build.mjs --subset subset.json [--fluidr3 PATH] [--quality Q] [--skip-soundfont]

import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as esbuild from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, "../moodscore/demo/static");
const modules = path.join(here, "node_modules");
const { values: args } = parseArgs({
  options: {
    subset: { type: "string" },
    fluidr3: { type: "string", default: "/usr/share/sounds/sf2/FluidR3_GM.sf2" },
    quality: { type: "string", default: "0" },
    "skip-soundfont": { type: "boolean", default: false },
  },
});

const version = (name) => JSON.parse(fs.readFileSync(path.join(modules, name, "package.json"))).version;
const write = (file, data) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
};

async function bundle() {
  await esbuild.build({
    entryPoints: [path.join(here, "src/main.js")],
    bundle: true,
    format: "esm",
    minify: true,
    target: ["chrome100", "firefox110", "safari16"],
    legalComments: "none", // the licences are in vendor/LICENSES.txt
    outfile: path.join(out, "app.js"),
    logLevel: "warning",
  });
  for (const name of ["index.html", "style.css"]) fs.copyFileSync(path.join(here, "src", name), path.join(out, name));
  write(path.join(out, "vendor/spessasynth_processor.min.js"),
    fs.readFileSync(path.join(modules, "spessasynth_lib/dist/spessasynth_processor.min.js")));
  const licences = [["abcjs", "LICENSE.md"], ["spessasynth_lib", "LICENSE"], ["spessasynth_core", "LICENSE"],
    ["stb-vorbis", "LICENSE"]].map(([name, file]) => {
    const text = fs.readFileSync(path.join(modules, name, file), "utf8").trim();
    return `${name} ${version(name)} (npm)\n${"=".repeat(40)}\n${text}\n`;
  });
  write(path.join(out, "vendor/LICENSES.txt"),
    "app.js bundles abcjs, spessasynth_lib and spessasynth_core (with stb-vorbis); " +
    "spessasynth_processor.min.js is spessasynth_lib's AudioWorklet.\n\n" + licences.join("\n"));
}

// The presets moodscore plays (moodscore.demo.assets.gm_subset) of FluidR3_GM, the drum kit
// with only the keys the arranger strikes, each sample compressed to Ogg Vorbis (SF3).
async function soundfont(subset) {
  const { SoundBankLoader } = await import("spessasynth_core");
  const { createOggEncoder } = await import("wasm-media-encoders");
  const source = fs.readFileSync(args.fluidr3);
  const bank = SoundBankLoader.fromArrayBuffer(source.buffer.slice(source.byteOffset, source.byteOffset + source.byteLength));
  const velocities = new Set(Array.from({ length: 127 }, (_, i) => i + 1));
  const keys = (list) => new Map(list.map((k) => [k, velocities]));
  const melodicKeys = Array.from({ length: 128 }, (_, i) => i);
  const keep = new Map();
  for (const preset of bank.presets) {
    if (preset.isGMGSDrum && (subset.drum_kits || [0]).includes(preset.program)) {
      keep.set(preset, keys((subset.kit_keys || {})[preset.program] || subset.drum_keys));
    }
    else if (!preset.isGMGSDrum && preset.bankMSB === 0 && subset.programs.includes(preset.program)) keep.set(preset, keys(melodicKeys));
  }
  const missing = subset.programs.filter((p) => ![...keep.keys()].some((k) => !k.isGMGSDrum && k.program === p));
  if (missing.length) throw new Error(`${args.fluidr3} lacks GM programs ${missing.join(", ")}`);
  bank.trim(keep);
  const encoder = await createOggEncoder();
  await bank.setSampleFormat({
    format: "compressed",
    compressionFunction: async (pcm, sampleRate) => {
      encoder.configure({ channels: 1, sampleRate, vbrQuality: Number(args.quality), oggSerialNo: 1 });
      const head = encoder.encode([pcm]);
      const body = new Uint8Array(head); // the encoder reuses its buffer: copy before finalize()
      const tail = encoder.finalize();
      const all = new Uint8Array(body.length + tail.length);
      all.set(body);
      all.set(tail, body.length);
      return all;
    },
  });
  bank.soundBankInfo.name = "moodscore GM subset of FluidR3_GM";
  bank.soundBankInfo.comment = `FluidR3_GM presets for moodscore's programs ${subset.programs.join(" ")} and the ` +
    `drum kits ${(subset.drum_kits || [0]).join(" ")} with keys ${subset.drum_keys.join(" ")}; samples Ogg Vorbis quality ${args.quality}`;
  const bytes = new Uint8Array(bank.writeSF2({ software: "moodscore web/build.mjs" }));
  write(path.join(out, "soundfont/moodscore-gm.sf3"), bytes);
  write(path.join(out, "soundfont/README.txt"),
    `moodscore-gm.sf3: ${bank.presets.length} presets of FluidR3_GM (${path.basename(args.fluidr3)}, ` +
    `Debian package fluid-soundfont-gm), the General MIDI programs moodscore plays ` +
    `(${subset.programs.join(", ")}) and the drum kits ${(subset.drum_kits || [0]).join(", ")} (bank 128) with keys ${subset.drum_keys.join(", ")}; ` +
    `${bank.samples.length} samples compressed to Ogg Vorbis (quality ${args.quality}). Made by web/build.sh.\n\n` +
    "FluidR3_GM is Copyright (c) 2000-2002, 2008 Frank Wen, released under the MIT licence.\n" +
    fluidLicence() + "\n");
  return { presets: bank.presets.length, samples: bank.samples.length, quality: Number(args.quality), ...subset };
}

function fluidLicence() {
  const copyright = "/usr/share/doc/fluid-soundfont-gm/copyright";
  if (!fs.existsSync(copyright)) {
    throw new Error(`${copyright} not found: install fluid-soundfont-gm (its licence goes beside the SoundFont)`);
  }
  return `From ${copyright}:\n\n${fs.readFileSync(copyright, "utf8").trim()}`;
}

function manifest(soundfontInfo) {
  const files = {};
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name !== "BUILD.json") {
        const data = fs.readFileSync(full);
        files[path.relative(out, full)] = { bytes: data.length, sha256: createHash("sha256").update(data).digest("hex") };
      }
    }
  };
  walk(out);
  const total = Object.values(files).reduce((sum, f) => sum + f.bytes, 0);
  const previous = fs.existsSync(path.join(out, "BUILD.json")) ? JSON.parse(fs.readFileSync(path.join(out, "BUILD.json"))) : {};
  const info = {
    packages: Object.fromEntries(["abcjs", "spessasynth_lib", "spessasynth_core", "stb-vorbis", "esbuild", "wasm-media-encoders"]
      .map((name) => [name, version(name)])),
    soundfont: soundfontInfo || previous.soundfont || null,
    total_bytes: total,
    files,
  };
  write(path.join(out, "BUILD.json"), JSON.stringify(info, null, 1) + "\n");
  return info;
}

const subset = args.subset ? JSON.parse(fs.readFileSync(args.subset, "utf8")) : null;
if (!args["skip-soundfont"] && !subset) throw new Error("--subset FILE is needed (python -m moodscore.demo.assets)");
await bundle();
const soundfontInfo = args["skip-soundfont"] ? null : await soundfont(subset);
const info = manifest(soundfontInfo);
for (const [file, { bytes }] of Object.entries(info.files)) console.log(`${(bytes / 1024).toFixed(0).padStart(6)} KiB  ${file}`);
console.log(`${(info.total_bytes / 1024).toFixed(0).padStart(6)} KiB  in all, in ${path.relative(process.cwd(), out) || out}`);
