// The classifier in a worker of its own, with its own single-threaded onnxruntime-web: the page detects the
// faces of the next camera frame while this worker classifies the last one's. Messages: {id, load: {runtime,
// wasmPaths, wasmBinary, model, options}} once (the page downloaded the bytes), then {id, views, dims}; each
// answered {id, probabilities} or {id, error}.
let ort = null;
let session = null;

async function load({ runtime, wasmPaths, wasmBinary, model, options }) {
  ort = await import(runtime);
  Object.assign(ort.env.wasm, { wasmPaths, wasmBinary, numThreads: 1 });
  session = await ort.InferenceSession.create(model, options);
  return {};
}

async function classify({ views, dims }) {
  const outputs = await session.run({ faces: new ort.Tensor('float32', views, dims) });
  return { probabilities: outputs.probabilities.data };
}

self.onmessage = async ({ data }) => {
  try {
    const answer = data.load ? await load(data.load) : await classify(data);
    self.postMessage({ id: data.id, ...answer }, answer.probabilities ? [answer.probabilities.buffer] : []);
  } catch (error) {
    self.postMessage({ id: data.id, error: error && error.message ? error.message : String(error) });
  }
};
