// keras_sr web export: the page's logic and window.kerasSR (the embedding API).
// The model, its scale and tile geometry come from model.json (written by `keras-sr export --web`).
import {loadLiteRt, loadAndCompile, Tensor} from '@litertjs/core';
import {canvasProblem, upscaleRGBA} from './tiler.js';

const here = new URL('.', import.meta.url);

async function loadModel() {
  const config = await (await fetch(new URL('model.json', here))).json();
  await loadLiteRt(new URL('litert/wasm/', here).href);
  const model = await loadAndCompile(new URL(config.tile_model, here).href, {accelerator: 'wasm'});
  return {config, model};
}

const ready = loadModel();

/** One tile through the model: uint8 RGB N*N*3 -> uint8 RGB sN*sN*3. */
async function runTile(model, n, pixels) {
  const input = new Tensor(pixels, [1, n, n, 3]);
  try {
    const [output] = await model.run([input]);
    try {
      return output.toTypedArray().slice();
    } finally {
      output.delete();
    }
  } finally {
    input.delete();
  }
}

/** Decode an image URL (EXIF orientation applied) to RGBA pixels. */
async function decode(url) {
  const blob = await (await fetch(url)).blob();
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob, {imageOrientation: 'from-image', premultiplyAlpha: 'none'});
  } catch (err) {
    throw new Error('this file is not an image the browser can decode (PNG, JPEG, WebP, GIF, BMP)');
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return ctx.getImageData(0, 0, canvas.width, canvas.height);
}

/**
 * Upscale the image at `url`; resolves to a PNG data URL.
 * opts: onProgress(doneTiles, totalTiles), signal (AbortSignal), step (tile core size, px).
 */
async function upscaleURL(url, opts = {}) {
  const {config, model} = await ready;
  const image = await decode(url);
  const {width: w, height: h} = image;
  const s = config.scale;
  const problem = canvasProblem(w * s, h * s);
  if (problem) throw new Error(problem);
  const t0 = performance.now();
  const rgba = await upscaleRGBA(image.data, w, h, (px) => runTile(model, config.window, px),
    {scale: s, window: config.window, context: config.context, step: opts.step,
      onProgress: opts.onProgress, signal: opts.signal});
  kerasSR.lastMs = performance.now() - t0;
  const canvas = document.createElement('canvas');
  canvas.width = w * s;
  canvas.height = h * s;
  canvas.getContext('2d').putImageData(new ImageData(rgba, w * s, h * s), 0, 0);
  return canvas.toDataURL('image/png');
}

const kerasSR = {upscaleURL, ready: ready.then(({config}) => config), lastMs: null};
window.kerasSR = kerasSR;

// ---- the page ---------------------------------------------------------------------------------
const $ = (id) => document.getElementById(id);
let controller = null;

function say(text, isError = false) {
  $('message').textContent = text;
  $('message').className = isError ? 'error' : '';
}

async function handle(file) {
  if (controller) controller.abort();
  controller = new AbortController();
  const {signal} = controller;
  const url = URL.createObjectURL(file);
  $('result').hidden = true;
  $('progress').value = 0;
  $('working').hidden = false;
  say(`upscaling ${file.name}\u2026`);
  try {
    const out = await upscaleURL(url, {signal, onProgress: (d, t) => { $('progress').value = d / t; }});
    $('before').src = url;
    $('after').src = out;
    $('download').href = out;
    $('download').download = file.name.replace(/\.[^.]*$/, '') + `_x${(await kerasSR.ready).scale}.png`;
    $('result').hidden = false;
    say(`${file.name}: done in ${(kerasSR.lastMs / 1000).toFixed(1)} s`);
  } catch (err) {
    URL.revokeObjectURL(url);
    say(err.name === 'AbortError' ? 'cancelled' : `${file.name}: ${err.message}`, err.name !== 'AbortError');
  } finally {
    if (controller && controller.signal === signal) controller = null;
    $('working').hidden = true;
  }
}

function setUp() {
  kerasSR.ready.then((config) => {
    $('model').textContent = `${config.name} \u00d7${config.scale} (${config.tile_model}, ` +
      `${config.window}\u00d7${config.window} px tiles, LiteRT.js ${config.runtime_version} WASM)`;
    $('pick').disabled = false;
  }, (err) => say(`the model did not load: ${err.message}`, true));
  $('pick').addEventListener('change', (e) => { if (e.target.files[0]) handle(e.target.files[0]); });
  $('cancel').addEventListener('click', () => { if (controller) controller.abort(); });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer.files[0]) handle(e.dataTransfer.files[0]);
  });
  $('split').addEventListener('input', (e) => {
    $('before').style.clipPath = `inset(0 ${100 - e.target.value}% 0 0)`;
  });
}

setUp();
