// The Webcam tab's in-browser mode: camera → BlazeFace (near and far, finder.js) → FER-2013 framing → the bundled
// classifier, all in this page with onnxruntime-web (WASM); boxes, labels and the largest face's chart drawn over
// the video.
// Nothing leaves the page. On any failure it says why and hands over to the server stream.
import { averagedCorrected, faceCrops, modelViews, regionNeeded, viewPlaces } from './face_path.js';
import { FaceDetector } from './detector.js';
import { FaceFinder } from './finder.js';
import { Tracker } from './tracks.js';

const HERE = new URL('.', import.meta.url);
const RUNTIME = 'ort.wasm.min.mjs';
const RUNTIME_WASM = 'ort-wasm-simd-threaded.wasm';
const RUNNING = 'Running in your browser — nothing is sent.';
const IN_BROWSER = 'The model runs in your browser: camera frames never leave this page.';
const ON_SERVER = 'The model runs on the server: each camera frame is sent to it.';

// The classifier's session in classifier_worker.js, with InferenceSession's `run`.
class WorkerSession {
  static async create(vendor, wasmBinary, model, options) {
    const session = new WorkerSession(new Worker(new URL('classifier_worker.js', HERE), { type: 'module' }));
    const runtime = new URL(RUNTIME, vendor).href;
    try {
      await session.ask({ load: { runtime, wasmPaths: vendor.href, wasmBinary, model, options } });
    } catch (error) {
      session.terminate();  // the page falls back to its own session: no idle worker left holding a runtime
      throw error;
    }
    return session;
  }

  constructor(worker) {
    Object.assign(this, { worker, waiting: new Map(), lastId: 0 });
    worker.onmessage = ({ data }) => {
      const { resolve, reject } = this.waiting.get(data.id);
      this.waiting.delete(data.id);
      if (data.error) reject(new Error(data.error));
      else resolve(data);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      this.waiting.forEach(({ reject }) => reject(new Error(event.message || 'the classifier worker failed')));
      this.waiting.clear();
    };
  }

  ask(message) {
    return new Promise((resolve, reject) => {
      this.lastId += 1;
      this.waiting.set(this.lastId, { resolve, reject });
      this.worker.postMessage({ id: this.lastId, ...message });
    });
  }

  async run({ faces }) {
    const { probabilities } = await this.ask({ views: faces.data, dims: faces.dims });
    return { probabilities: { data: probabilities } };
  }

  terminate() {
    this.worker.terminate();
    this.waiting.forEach(({ reject }) => reject(new Error('the classifier was stopped')));
    this.waiting.clear();
  }
}

class LiveView {
  constructor(element, settings) {
    this.element = element;
    this.settings = settings;
    this.prior = settings.model.prior_correction || settings.model.labels.map(() => 1);
    this.status = element.querySelector('.live-status');
    this.video = element.querySelector('video');
    this.view = element.querySelector('canvas.live-view');
    this.bars = element.querySelector('.live-bars');
    element.querySelector('.live-chart-title').textContent = settings.wording.largest_face;
    // Two frames are in hand at once (one being classified, the next being searched for faces).
    this.frames = [0, 1].map(() => {
      const canvas = document.createElement('canvas');
      return { canvas, context: canvas.getContext('2d', { willReadFrequently: true }) };
    });
    this.framesStarted = 0;
    this.drawn = this.frames[0];
    this.tracker = new Tracker(settings.tracks);
    this.stopped = () => {};
    Object.assign(this, { framesPresented: 0, framesTaken: 0, frameArrived: null });
    this.stats = { framesDrawn: 0, firstResultMs: null, startedAt: 0, lastFaces: [] };
  }

  async start() {
    this.stats.startedAt = performance.now();
    this.say('Loading the runtime and the models…');
    const vendor = new URL(this.settings.vendor, HERE);  // content-addressed: kept by the browser for a year
    const ort = await import(new URL(RUNTIME, vendor).href);
    ort.env.wasm.wasmPaths = vendor.href;
    ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, Math.max(1, navigator.hardwareConcurrency >> 1)) : 1;
    // Downloaded once here, for this page and the classifier's worker.
    const [wasmBinary, model] = await Promise.all([bytesOf(new URL(RUNTIME_WASM, vendor)),
                                                   bytesOf(this.settings.model_url)]);
    ort.env.wasm.wasmBinary = wasmBinary;
    const options = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };
    this.ort = ort;
    const detector = async (name) => new FaceDetector(
      ort, await ort.InferenceSession.create(new URL(this.settings.detectors[name].url, HERE).href, options), name);
    this.finder = new FaceFinder(await detector('short_range'), await detector('full_range'));
    this.classifier = await WorkerSession.create(vendor, wasmBinary, model, options)
      .catch(() => ort.InferenceSession.create(model, options));
    this.overlapping = this.classifier instanceof WorkerSession;
    this.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    this.video.srcObject = this.stream;
    await this.video.play();
    this.running = true;
    const threads = `${ort.env.wasm.numThreads} thread${ort.env.wasm.numThreads > 1 ? 's' : ''}`;
    this.say(`${RUNNING} (WebAssembly, ${threads}${this.overlapping ? ' and a worker' : ''})`);
    this.run();
  }

  stop() {
    this.running = false;
    if (this.stream) this.stream.getTracks().forEach((track) => track.stop());
    if (this.overlapping) this.classifier.terminate();
  }

  // For tests: stops after the frame in hand, so that the frame canvas and lastFaces belong together.
  pause() {
    return new Promise((resolve) => {
      this.stopped = resolve;
      this.running = false;
    });
  }

  say(text) {
    this.status.textContent = text;
    this.status.classList.remove('live-error');
  }

  // Takes the newest camera frame as soon as the previous one is handed to the classifier (waiting for the next
  // frame callback instead would skip a frame presented meanwhile), finds its faces while the worker classifies
  // the previous frame's, then draws that one: the two steps overlap on two cores.
  async run() {
    this.watchCameraFrames();
    let inHand = null;
    try {
      while (this.running) {
        await this.newCameraFrame();
        this.framesTaken = this.framesPresented;
        const next = await this.startFrame();
        if (inHand) await this.finishFrame(inHand);
        inHand = next;
      }
      if (inHand) await this.finishFrame(inHand);
    } catch (error) {
      if (this.running) this.fail(error);  // after stop(), the worker's answers are cancelled, not failed
    }
    this.stopped();
  }

  watchCameraFrames() {
    const schedule = (callback) => (this.video.requestVideoFrameCallback
      ? this.video.requestVideoFrameCallback(callback) : requestAnimationFrame(callback));
    const presented = () => {
      this.framesPresented += 1;
      if (this.frameArrived) this.frameArrived();
      if (this.running) schedule(presented);
    };
    schedule(presented);
  }

  newCameraFrame() {
    if (this.framesPresented > this.framesTaken) return Promise.resolve();
    return new Promise((resolve) => {
      this.frameArrived = () => {
        this.frameArrived = null;
        resolve();
      };
    });
  }

  grabFrame(buffer) {
    const { videoWidth: width, videoHeight: height } = this.video;
    if (buffer.canvas.width !== width || buffer.canvas.height !== height) {
      Object.assign(buffer.canvas, { width, height });
      Object.assign(this.view, { width, height });
    }
    buffer.context.drawImage(this.video, 0, 0);
    return { width, height };
  }

  // The frame's size and the pixels of `region` ([left, top, width, height]; faceCrops reads them).
  framePixels(buffer, size, region) {
    return { ...size, left: region[0], top: region[1], pixels: buffer.context.getImageData(...region) };
  }

  // The newest camera frame, its faces and their tracks, and the classifier's answer on its way. The tracker
  // matches these faces against boxes the previous frame's finishFrame may not have stored yet: a frame older.
  async startFrame() {
    const buffer = this.frames[this.framesStarted % 2];
    this.framesStarted += 1;
    const size = this.grabFrame(buffer);
    const found = await this.finder.find(buffer.canvas, size.width, size.height, this.settings.min_face_side);
    const faces = found.slice(0, this.maxFaces());
    const frame = this.framePixels(buffer, size, regionNeeded(faces, size.width, size.height, this.settings));
    const steady = this.element.ownerDocument.querySelector('#steady input');
    this.tracker.smoothingS = !steady || steady.checked ? this.settings.tracks.smoothing_s : 0;
    const timeS = performance.now() / 1000;
    const tracks = this.tracker.assign(faces.map((face) => face.box), timeS);
    const tta = this.tta();
    const { views, turns } = this.viewsInTurn(frame, faces, tracks, tta);
    const perView = faces.length ? this.probabilitiesOf(views, faces.length) : Promise.resolve(null);
    if (!this.overlapping) await perView;  // one WASM instance runs one session at a time
    return { buffer, size, faces, tracks, turns, tta, perView, timeS };
  }

  async finishFrame({ buffer, size, faces, tracks, turns, tta, perView, timeS }) {
    const probabilities = this.probabilitiesInTurn(tracks, turns, tta, await perView);
    this.stats.lastFaces = faces.map((face, index) => ({ box: face.box, eyes: face.eyes, score: face.score,
      detector: face.detector, probabilities: probabilities[index], id: tracks[index].id,
      shown: this.tracker.smooth(tracks[index], face.box, probabilities[index], timeS) }));
    this.drawn = buffer;
    this.draw(size, this.stats.lastFaces);
    this.stats.framesDrawn += 1;
    if (this.stats.firstResultMs === null && faces.length) this.stats.firstResultMs = performance.now() - this.stats.startedAt;
  }

  // The page's "Test-time augmentation" choice.
  tta() {
    const chosen = this.element.ownerDocument.querySelector('#tta input:checked');
    return chosen ? chosen.value : this.settings.tta;
  }

  maxFaces() {
    const slider = this.element.ownerDocument.querySelector('#max-faces input[type=number]');
    return slider ? Number(slider.value) || 1 : this.settings.max_faces;
  }

  // The model's prior-corrected probabilities of `count` views laid end to end.
  async probabilitiesOf(views, count) {
    const size = this.settings.model.input_size;
    const outputs = await this.classifier.run({ faces: new this.ort.Tensor('float32', views, [count, 1, size, size]) });
    return outputs.probabilities.data;
  }

  // The model runs one view of each face per frame (the `tta` views of its two squares in turn: with `flip`, the
  // squares and their mirrors, a quarter of the work) and each face shows the mean of the latest of each of its
  // views. On a still face that is, once every view had its turn, what the server computes from one frame. This
  // frame's view of each face, and which it is:
  viewsInTurn(frame, faces, tracks, tta) {
    const viewSize = this.settings.model.input_size ** 2;
    const chosen = new Float32Array(faces.length * viewSize);
    const turns = faces.map((face, index) => {
      const views = modelViews(faceCrops(frame, face, this.settings), this.settings, tta);
      const track = tracks[index];
      if (track.tta !== tta) Object.assign(track, { tta, views: new Array(views.length / viewSize).fill(null), turn: 0 });
      const turn = track.turn % track.views.length;
      track.turn += 1;
      chosen.set(views.subarray(turn * viewSize, (turn + 1) * viewSize), index * viewSize);
      return turn;
    });
    return { views: chosen, turns };
  }

  // Each face's probabilities once the model has answered for this frame's views (`perView`, null without faces).
  // A frame classified just before the TTA choice changed counts on its own.
  probabilitiesInTurn(tracks, turns, tta, perView) {
    const classes = this.prior.length;
    return tracks.map((track, index) => {
      const view = perView.slice(index * classes, (index + 1) * classes);
      if (track.tta === tta) track.views[turns[index]] = view;
      const latest = track.tta === tta ? track.views.filter(Boolean) : [view];
      return averagedCorrected(latest.flatMap((view) => [...view]), latest.length, this.prior);
    });
  }

  // Every face's prior-corrected probabilities from all its views at once, as the server computes them.
  async classify(frame, faces, settings, tta) {
    const cropsPerFace = faces.map((face) => faceCrops(frame, face, settings));
    const views = modelViews(cropsPerFace.flat(), settings, tta);
    const perView = await this.probabilitiesOf(views, views.length / settings.model.input_size ** 2);
    const classes = this.prior.length;
    let first = 0;
    return cropsPerFace.map((crops) => {
      const viewCount = crops.length * viewPlaces(tta, settings.image_size, settings.model.input_size).length;
      const slice = perView.subarray(first * classes, (first + viewCount) * classes);
      first += viewCount;
      return averagedCorrected(slice, viewCount, this.prior);
    });
  }

  draw(frame, faces) {
    const context = this.view.getContext('2d');
    context.drawImage(this.drawn.canvas, 0, 0);
    const labels = this.settings.model.labels;
    context.lineWidth = Math.max(2, frame.width / 240);
    context.font = `${Math.round(Math.max(14, frame.width / 32))}px sans-serif`;
    faces.forEach((face, index) => {
      const best = face.shown.indexOf(Math.max(...face.shown));
      const text = `${face.id} ${labels[best]} ${Math.round(face.shown[best] * 100)}%`;
      context.strokeStyle = context.fillStyle = index === 0 ? '#ff7f0e' : '#1f77b4';
      context.strokeRect(...face.box);
      context.fillText(text, face.box[0], Math.max(16, face.box[1] - 6));
    });
    this.drawBars(faces.length ? faces[0].shown : null);
  }

  drawBars(probabilities) {
    const labels = this.settings.model.labels;
    if (!this.bars.children.length) {
      this.bars.innerHTML = labels.map((label) => `<div class="live-bar"><span>${label}</span><div><i></i></div><b></b></div>`).join('');
    }
    [...this.bars.children].forEach((row, index) => {
      const value = probabilities ? probabilities[index] : 0;
      row.querySelector('i').style.width = `${(value * 100).toFixed(1)}%`;
      row.querySelector('b').textContent = probabilities ? value.toFixed(2) : '';
    });
  }

  fail(error) {
    this.stop();
    window.ferLive.state = 'failed';
    handOver(this.element, `The in-browser mode stopped (${error && error.message ? error.message : error})`);
  }

  // For tests, once paused: the last analysed frame as a PNG data URL.
  frameSnapshot() {
    return this.drawn.canvas.toDataURL('image/png');
  }

  // For the reach benchmark and tests, once paused: the faces in a picture (a URL) after every view had its turn,
  // as on a still camera picture five frames in; or short range's alone, as the page found them before full range.
  async facesIn(pictureUrl, nearOnly = false) {
    const picture = await createImageBitmap(await (await fetch(pictureUrl)).blob());
    const [width, height, minSide] = [picture.width, picture.height, this.settings.min_face_side];
    return nearOnly ? this.finder.near.detect(picture, [0, 0, width, height], minSide)
      : this.finder.findEverywhere(picture, width, height, minSide);
  }

  // For tests: the last analysed frame's faces classified with another detector's faces and framing (the
  // server's YuNet), all views at once, to compare the face paths alone.
  classifyFaces(faces, framing, tta = 'flip') {
    const size = { width: this.drawn.canvas.width, height: this.drawn.canvas.height };
    const frame = this.framePixels(this.drawn, size, [0, 0, size.width, size.height]);
    return this.classify(frame, faces, { ...this.settings, framing }, tta);
  }
}

async function bytesOf(url) {
  const response = await fetch(url).catch(() => null);
  if (!response || !response.ok) throw new Error(`${new URL(url).pathname.split('/').pop()} could not be downloaded`);
  return new Uint8Array(await response.arrayBuffer());
}

function serverOption(doc) {
  return [...doc.querySelectorAll('#webcam-mode input[type=radio]')]
    .find((input) => /server/i.test(input.closest('label') ? input.closest('label').textContent : input.value));
}

function serverStreamChosen(doc) {
  const option = serverOption(doc);
  return Boolean(option && option.checked);
}

function chooseServerStream(doc) {
  const option = serverOption(doc);
  if (option && !option.checked) option.click();
}

// Says why the in-browser mode cannot run and switches the tab to the server stream.
function handOver(element, message) {
  const status = element.querySelector('.live-status');
  status.textContent = `${message}: switched to the server stream.`;
  status.classList.add('live-error');
  chooseServerStream(element.ownerDocument);
}

function supported() {
  return typeof WebAssembly === 'object' && Boolean(window.OffscreenCanvas && navigator.mediaDevices);
}

async function loadedSettings() {
  const settingsUrl = new URL('../web-model/settings.json', HERE);
  const settings = await (await fetch(settingsUrl)).json();
  if (!settings.model_url) throw new Error(settings.unavailable);
  return { ...settings, model_url: new URL(settings.model_url, settingsUrl).href };
}

// Called by the gr.HTML panel's js_on_load with its root element.
export async function mount(element) {
  const status = element.querySelector('.live-status');
  const button = element.querySelector('button.live-start');
  let view = null;
  window.ferLive = { state: 'idle', stats: null };
  status.textContent = IN_BROWSER;
  // On the server stream the panel keeps only its status line: why the stream runs there, or what failed.
  element.ownerDocument.addEventListener('change', (event) => {
    if (!event.target.closest || !event.target.closest('#webcam-mode')) return;
    const onServer = serverStreamChosen(element.ownerDocument);
    element.querySelector('.live-panel').classList.toggle('live-off', onServer);
    if (onServer && view) view.stop();
    if (!status.classList.contains('live-error')) status.textContent = onServer ? ON_SERVER : IN_BROWSER;
    button.disabled = false;
  });
  if (!supported()) {
    window.ferLive.state = 'unsupported';
    handOver(element, 'This browser cannot run the model itself (no WebAssembly or camera access)');
    return;
  }
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      view = new LiveView(element, await loadedSettings());
      Object.assign(window.ferLive, { state: 'loading', stats: view.stats, view });
      await view.start();
      window.ferLive.state = 'running';
    } catch (error) {
      window.ferLive.state = 'failed';
      if (view) view.stop();
      handOver(element, `The in-browser mode could not start (${error.message})`);
    }
  });
  button.disabled = false;  // the panel's button is inert until this listener is there
}
