// Tiling for fixed-shape tile models: the same plan as keras_sr/export/web.py (tile_plan,
// upscale_tiled), so the page's output equals Python LiteRT running the same tile file.
//
// The model takes uint8 RGB [1, N, N, 3] (N = window) and returns [1, sN, sN, 3]. Along each
// axis the image is cut into cores of `step` px (default N - 2*context); each core runs inside a
// window of N px that extends `context` px past it on every side that is not an image edge
// (windows at the image's edges shift inwards), and only the core is kept. With context >= the
// model's receptive radius + 1 (keras_sr.inference.StagedUpscaler.context), the result equals an
// untiled run. An image side shorter than N is extended by symmetric mirroring (as numpy's
// np.pad(mode="symmetric"), repeated) and the output cropped back.

/** Cores and their windows along one axis: [{core0, core1, win0}] (core1 exclusive). */
export function tilePlan(length, window, context, step) {
  step = step ?? window - 2 * context;
  if (step < 1 || step > window - 2 * context) throw new Error(`bad tile step ${step}`);
  const padded = Math.max(length, window);
  const plan = [];
  for (let core0 = 0; core0 < length; core0 += step) {
    const core1 = Math.min(core0 + step, length);
    const win0 = Math.min(Math.max(core0 - context, 0), padded - window);
    plan.push({core0, core1, win0});
  }
  return plan;
}

/** Index of position i in a side of n px extended by repeated symmetric mirroring. */
export function mirror(i, n) {
  const j = i % (2 * n);
  return j < n ? j : 2 * n - 1 - j;
}

// Chromium's 2D canvas limits (a side, and the area); browsers differ, Chromium is what is tested.
export const CANVAS_MAX_SIDE = 32767;
export const CANVAS_MAX_AREA = 268435456;

/** Why an output of w x h px cannot be drawn on a canvas, or null. */
export function canvasProblem(w, h) {
  if (w > CANVAS_MAX_SIDE || h > CANVAS_MAX_SIDE || w * h > CANVAS_MAX_AREA) {
    return `the output would be ${w}\u00d7${h} px, over the browser's canvas limit ` +
      `(${CANVAS_MAX_SIDE} px a side, ${CANVAS_MAX_AREA / 2 ** 20} MP): ` +
      'use a smaller photo, or `keras-sr upscale` on a computer';
  }
  return null;
}

/**
 * Upscale RGBA pixels (Uint8ClampedArray, w x h) with `runTile(Uint8Array N*N*3) ->
 * Promise<Uint8Array sN*sN*3>`; returns the RGBA output (alpha: see upscaleAlpha).
 * opts: scale, window, context, step, onProgress(done, total), signal (AbortSignal).
 */
export async function upscaleRGBA(rgba, w, h, runTile, opts) {
  const {scale: s, window: n, context: c, step, onProgress, signal} = opts;
  const rows = tilePlan(h, n, c, step);
  const cols = tilePlan(w, n, c, step);
  const total = rows.length * cols.length;
  const out = new Uint8ClampedArray(w * s * h * s * 4);
  const tile = new Uint8Array(n * n * 3);
  const sn = s * n;
  let done = 0;
  let yielded = performance.now();
  for (const r of rows) {
    for (const q of cols) {
      if (signal && signal.aborted) throw new DOMException('cancelled', 'AbortError');
      for (let y = 0; y < n; y++) {
        const sy = mirror(r.win0 + y, h);
        for (let x = 0; x < n; x++) {
          const i = (sy * w + mirror(q.win0 + x, w)) * 4;
          const o = (y * n + x) * 3;
          tile[o] = rgba[i]; tile[o + 1] = rgba[i + 1]; tile[o + 2] = rgba[i + 2];
        }
      }
      const sr = await runTile(tile);
      for (let y = r.core0 * s; y < r.core1 * s; y++) {
        const ty = y - r.win0 * s;
        for (let x = q.core0 * s; x < q.core1 * s; x++) {
          const i = (ty * sn + x - q.win0 * s) * 3;
          const o = (y * w * s + x) * 4;
          out[o] = sr[i]; out[o + 1] = sr[i + 1]; out[o + 2] = sr[i + 2];
        }
      }
      done += 1;
      if (onProgress) onProgress(done, total);
      if (performance.now() - yielded > 40) { // let the page repaint and take a cancel click
        await new Promise((resolve) => setTimeout(resolve, 0));
        yielded = performance.now();
      }
    }
  }
  upscaleAlpha(rgba, w, h, s, out);
  return out;
}

/** Keys' bicubic weights (a = -0.5) of each output phase over source offsets -2..2, as
 * keras_sr.data.interp.phase_weights (half-pixel centres, each phase normalised). */
export function phaseWeights(s) {
  const keys = (t) => {
    t = Math.abs(t);
    if (t <= 1) return 1.5 * t ** 3 - 2.5 * t ** 2 + 1;
    return t < 2 ? -0.5 * t ** 3 + 2.5 * t ** 2 - 4 * t + 2 : 0;
  };
  const weights = [];
  for (let p = 0; p < s; p++) {
    const u = (p + 0.5) / s - 0.5;
    const w = [-2, -1, 0, 1, 2].map((k) => keys(k - u));
    const sum = w.reduce((a, b) => a + b, 0);
    weights.push(w.map((v) => v / sum));
  }
  return weights;
}

/** Alpha as the CLI upscales it (keras_sr.inference: bicubic polyphase filter, symmetric
 * borders, clipped and rounded) into out's 4th channel; 255 everywhere for opaque images. */
export function upscaleAlpha(rgba, w, h, s, out) {
  let opaque = true;
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] !== 255) { opaque = false; break; }
  const W = w * s;
  if (opaque) {
    for (let i = 3; i < out.length; i += 4) out[i] = 255;
    return;
  }
  const wt = phaseWeights(s);
  const rowsUp = new Float64Array(h * W); // horizontal pass: h x W
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < W; x++) {
      const i = Math.floor(x / s), p = x % s;
      let v = 0;
      for (let k = -2; k <= 2; k++) v += wt[p][k + 2] * rgba[(y * w + mirror(i + k + 2 * w, w)) * 4 + 3];
      rowsUp[y * W + x] = v;
    }
  }
  for (let y = 0; y < h * s; y++) {
    const i = Math.floor(y / s), p = y % s;
    for (let x = 0; x < W; x++) {
      let v = 0;
      for (let k = -2; k <= 2; k++) v += wt[p][k + 2] * rowsUp[mirror(i + k + 2 * h, h) * W + x];
      out[(y * W + x) * 4 + 3] = Math.round(Math.min(255, Math.max(0, v)));
    }
  }
}
