// keras-sr study page: blind pairwise preference votes (see keras_sr/evaluation/study.py).
//
// The study (manifest.js: window.KERAS_SR_STUDY) lists images and, per image, one crop per model.
// A session draws `pairs` (image, model pair) trials from all of them in an order, and with left
// and right sides, that follow from a PRNG seeded by (study id, session id): the same session id
// gives the same trials. The session id comes from ?session=ID, else from an unfinished session
// kept in localStorage (a reload resumes it), else it is random. Votes are downloaded as
// votes-<session>.json. window.kerasSRStudy exposes the state for scripted tests.
(function () {
  'use strict';
  const study = window.KERAS_SR_STUDY;
  const $ = (id) => document.getElementById(id);
  const VOTES_FORMAT = 'keras-sr-study-votes';
  const KEY = study ? 'keras-sr-study:' + study.study_id : '';

  // xmur3 string hash -> 32-bit seed; mulberry32 PRNG (public-domain, Tommy Ettinger / bryc)
  function xmur3(str) {
    let h = 1779033703 ^ str.length;
    for (let i = 0; i < str.length; i++) {
      h = Math.imul(h ^ str.charCodeAt(i), 3432918353);
      h = (h << 13) | (h >>> 19);
    }
    h = Math.imul(h ^ (h >>> 16), 2246822507);
    h = Math.imul(h ^ (h >>> 13), 3266489909);
    return (h ^= h >>> 16) >>> 0;
  }
  function mulberry32(a) {
    return function () {
      a |= 0; a = (a + 0x6D2B79F5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  // The session's trials: every (image, unordered model pair) once, shuffled, the first `pairs`,
  // each with a random side for the first model.
  function schedule(s, session) {
    const rand = mulberry32(xmur3(s.study_id + ':' + session));
    const all = [];
    s.images.forEach((img, i) => {
      for (let a = 0; a < s.models.length; a++) {
        for (let b = a + 1; b < s.models.length; b++) all.push([i, s.models[a], s.models[b]]);
      }
    });
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [all[i], all[j]] = [all[j], all[i]];
    }
    return all.slice(0, Math.min(s.settings.pairs, all.length)).map(([i, a, b]) =>
      rand() < 0.5 ? {image: i, left: a, right: b} : {image: i, left: b, right: a});
  }

  function randomSession() {
    const bytes = new Uint8Array(6);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (x) => x.toString(16).padStart(2, '0')).join('');
  }
  function load() {
    try { return JSON.parse(localStorage.getItem(KEY) || 'null'); } catch (e) { return null; }
  }
  function save() {
    try { localStorage.setItem(KEY, JSON.stringify({session: state.session, votes: state.votes})); } catch (e) { /* private mode */ }
  }

  const state = {session: null, trials: [], votes: [], index: 0, shownAt: null, started: null};

  function pickSession() {
    const given = new URLSearchParams(location.search).get('session');
    const stored = load();
    if (given !== null) {
      if (!/^[A-Za-z0-9_-]{1,40}$/.test(given)) throw new Error('bad ?session= (letters, digits, - and _, at most 40)');
      return {session: given, votes: stored && stored.session === given ? stored.votes : []};
    }
    if (stored && stored.session) {
      const n = schedule(study, stored.session).length;
      if ((stored.votes || []).length < n) return stored;  // resume an unfinished session
    }
    return {session: randomSession(), votes: []};
  }

  function votesDocument() {
    return {
      format: VOTES_FORMAT, version: 1, study_id: study.study_id, image_set: study.image_set,
      session: state.session, models: study.models, trials: state.trials.length,
      device_pixel_ratio: window.devicePixelRatio, user_agent: navigator.userAgent,
      started: state.started, saved: new Date().toISOString(), votes: state.votes.slice(),
    };
  }

  let downloadURL = null;
  function refreshDownload() {
    const a = $('download');
    if (downloadURL) URL.revokeObjectURL(downloadURL);
    downloadURL = URL.createObjectURL(new Blob([JSON.stringify(votesDocument(), null, 1)], {type: 'application/json'}));
    a.href = downloadURL;
    a.download = 'votes-' + state.session + '.json';
    a.textContent = 'Download votes (' + state.votes.length + ' of ' + state.trials.length + ')';
  }

  // CSS size = image pixels / devicePixelRatio: one image pixel on one device pixel.
  function fit(img) {
    if (!img.naturalWidth) return;
    const r = window.devicePixelRatio || 1;
    img.style.width = img.naturalWidth / r + 'px';
    img.style.height = img.naturalHeight / r + 'px';
  }
  function watchRatio() {
    const mq = matchMedia('(resolution: ' + (window.devicePixelRatio || 1) + 'dppx)');
    mq.addEventListener('change', () => { fit($('left')); fit($('right')); note(); watchRatio(); }, {once: true});
  }
  function note() {
    $('scale-note').textContent = 'Images are drawn at one image pixel per screen pixel (devicePixelRatio ' +
      (window.devicePixelRatio || 1) + '). Study ' + study.study_id.slice(0, 12) + ', session ' + state.session + '.';
  }

  function loadImage(img, src) {
    return new Promise((resolve, reject) => {
      img.onload = () => { fit(img); resolve(); };
      img.onerror = () => reject(new Error('cannot load ' + src));
      img.src = src;
    });
  }

  let showing = Promise.resolve();
  function show() {
    const pair = $('pair');
    state.shownAt = null;
    $('progress').textContent = 'Pair ' + Math.min(state.index + 1, state.trials.length) + ' of ' + state.trials.length;
    if (state.index >= state.trials.length) {
      pair.hidden = true; $('buttons').hidden = true; $('done').hidden = false; $('new-session').hidden = false;
      $('progress').textContent = 'All ' + state.trials.length + ' pairs done';
      showing = Promise.resolve();
      return showing;
    }
    const t = state.trials[state.index];
    const crops = study.images[t.image].crops;
    pair.classList.add('waiting');
    showing = Promise.all([loadImage($('left'), crops[t.left]), loadImage($('right'), crops[t.right])])
      .then(() => { pair.classList.remove('waiting'); state.shownAt = performance.now(); })
      .catch((e) => { message(e.message, true); throw e; });
    return showing;
  }

  function message(text, error) {
    $('message').textContent = text;
    $('message').className = error ? 'error' : '';
  }

  // Record `choice` (left, right or same) for the pair on screen; false when none is shown yet.
  function choose(choice) {
    if (!['left', 'right', 'same'].includes(choice)) throw new Error('choice must be left, right or same');
    if (choice === 'same' && !study.settings.ties) return false;
    if (state.shownAt === null || state.index >= state.trials.length) return false;
    const t = state.trials[state.index];
    const lp = study.images[t.image].lpips || {};
    state.votes.push({
      trial: state.index, image: study.images[t.image].name, model_left: t.left, model_right: t.right,
      choice: choice, ms: Math.round(performance.now() - state.shownAt),
      lpips_left: lp[t.left] ?? null, lpips_right: lp[t.right] ?? null,
    });
    state.index += 1;
    save();
    refreshDownload();
    show();
    return true;
  }

  const KEYS = {ArrowLeft: 'left', '1': 'left', ArrowRight: 'right', '2': 'right', ' ': 'same', ArrowDown: 'same'};
  function onKey(e) {
    if (e.repeat || e.altKey || e.ctrlKey || e.metaKey || !(e.key in KEYS)) return;
    e.preventDefault();
    choose(KEYS[e.key]);
  }

  function start() {
    if (!study || !Array.isArray(study.images) || !Array.isArray(study.models)) {
      throw new Error('manifest.js is missing or is not a keras-sr study');
    }
    document.body.classList.toggle('no-ties', !study.settings.ties);
    const picked = pickSession();
    state.session = picked.session;
    state.trials = schedule(study, state.session);
    state.votes = (picked.votes || []).slice(0, state.trials.length);
    state.index = state.votes.length;
    state.started = new Date().toISOString();
    save();
    document.addEventListener('keydown', onKey);
    $('choose-left').onclick = () => choose('left');
    $('choose-right').onclick = () => choose('right');
    $('choose-same').onclick = () => choose('same');
    $('new-session').onclick = () => {
      try { localStorage.removeItem(KEY); } catch (e) { /* ignore */ }
      location.search = '';
    };
    refreshDownload();
    note();
    watchRatio();
    return show();
  }

  let ready;
  try {
    ready = start();
  } catch (e) {
    message(e.message, true);
    ready = Promise.reject(e);
  }
  window.kerasSRStudy = {
    ready,
    schedule: (session) => schedule(study, session),
    choose,
    shown: () => showing,  // resolves when the pair on screen has loaded (votes count from then)
    votes: votesDocument,
    state: () => ({session: state.session, index: state.index, total: state.trials.length,
                   current: state.index < state.trials.length ? {...state.trials[state.index],
                   image: study.images[state.trials[state.index].image].name} : null,
                   waiting: state.shownAt === null}),
  };
})();
