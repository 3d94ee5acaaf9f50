// The valence-arousal plane as moodscore reads it: quadrant names.

export const QUADRANTS = {
  Q1: { name: "happy / excited", colour: "#f2b134" },
  Q2: { name: "angry / tense", colour: "#e4572e" },
  Q3: { name: "sad / depressed", colour: "#4f6d9a" },
  Q4: { name: "calm / relaxed", colour: "#4fa37a" },
};

export function quadrant(valence, arousal) {
  if (arousal >= 0) return valence >= 0 ? "Q1" : "Q2";
  return valence >= 0 ? "Q4" : "Q3";
}

export function describe(mood) {
  if (!mood) return "–";
  const [v, a] = mood;
  const sign = (x) => (x >= 0 ? "+" : "−") + Math.abs(x).toFixed(2);
  if (Math.abs(v) < 0.05 && Math.abs(a) < 0.05) return `neutral (v ${sign(v)}, a ${sign(a)})`;
  const q = quadrant(v, a);
  return `${q} ${QUADRANTS[q].name} (v ${sign(v)}, a ${sign(a)})`;
}

export const clamp = (x) => Math.max(-1, Math.min(1, x));
