// BlazeFace (@mediapipe/face_detection's models, as ONNX): a region of a picture → boxes with eyes, largest first.
// Decoding follows MediaPipe's face_detection graphs: SSD anchors, score = sigmoid, weighted non-maximum
// suppression. Short range (128×128) is made for faces near the camera; full range (192×192) for faces farther away.

const MIN_SCORE = 0.5;
const MIN_SUPPRESSION_OVERLAP = 0.3;

function anchorCentres(grids) {
  const centres = [];
  for (const [grid, perCell] of grids) {
    for (let row = 0; row < grid; row += 1) {
      for (let column = 0; column < grid; column += 1) {
        for (let k = 0; k < perCell; k += 1) centres.push([(column + 0.5) / grid, (row + 0.5) / grid]);
      }
    }
  }
  return centres;
}

// Each model's input side and anchors (grid side, anchors per cell), as in benchmarks/browser_framing.py.
const MODELS = {
  short_range: { input: 128, anchors: anchorCentres([[16, 2], [8, 6]]) },
  full_range: { input: 192, anchors: anchorCentres([[48, 1]]) },
};

export class FaceDetector {
  constructor(ort, session, name) {
    Object.assign(this, { ort, session, name, ...MODELS[name] });
    this.canvas = new OffscreenCanvas(this.input, this.input);
    this.context = this.canvas.getContext('2d', { willReadFrequently: true });
    this.pixels = new Float32Array(3 * this.input * this.input);
  }

  // The region [left, top, width, height] of the source (video or canvas) letterboxed into the model's input, as
  // benchmarks/browser_framing.py does.
  letterboxed(source, [left, top, width, height]) {
    const side = this.input;
    const scale = side / Math.max(width, height);
    const drawnWidth = Math.round(width * scale);
    const drawnHeight = Math.round(height * scale);
    const offset = [Math.floor((side - drawnWidth) / 2), Math.floor((side - drawnHeight) / 2)];
    this.context.fillStyle = 'black';
    this.context.fillRect(0, 0, side, side);
    this.context.drawImage(source, left, top, width, height, offset[0], offset[1], drawnWidth, drawnHeight);
    const rgba = this.context.getImageData(0, 0, side, side).data;
    const plane = side * side;
    for (let index = 0; index < plane; index += 1) {
      for (let channel = 0; channel < 3; channel += 1) {
        this.pixels[channel * plane + index] = rgba[index * 4 + channel] / 127.5 - 1;
      }
    }
    return { scale, offset: [offset[0] - left * scale, offset[1] - top * scale] };
  }

  // The faces in `region` of the source, in the source's pixels, each with its detector's name.
  async detect(source, region, minFaceSide) {
    const { scale, offset } = this.letterboxed(source, region);
    const side = this.input;
    const outputs = await this.session.run({ input: new this.ort.Tensor('float32', this.pixels, [1, 3, side, side]) });
    const regressors = outputs.regressors.data;
    const logits = outputs.classificators.data;
    const candidates = [];
    for (let index = 0; index < this.anchors.length; index += 1) {
      const score = 1 / (1 + Math.exp(-Math.min(Math.max(logits[index], -100), 100)));
      if (score < MIN_SCORE) continue;
      const values = regressors.subarray(index * 16, index * 16 + 16);
      const anchor = this.anchors[index].map((value) => value * side);
      const toPicture = (x, y) => [(x + anchor[0] - offset[0]) / scale, (y + anchor[1] - offset[1]) / scale];
      const [centreX, centreY] = toPicture(values[0], values[1]);
      const width = values[2] / scale;
      const height = values[3] / scale;
      candidates.push({ score, box: [centreX - width / 2, centreY - height / 2, width, height],
                        eyes: [toPicture(values[4], values[5]), toPicture(values[6], values[7])] });
    }
    return weightedSuppression(candidates)
      .filter((face) => Math.min(face.box[2], face.box[3]) >= minFaceSide)
      .map((face) => ({ ...face, detector: this.name }))
      .sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3]);
  }
}

export function intersection(a, b) {
  const left = Math.max(a[0], b[0]);
  const top = Math.max(a[1], b[1]);
  const right = Math.min(a[0] + a[2], b[0] + b[2]);
  const bottom = Math.min(a[1] + a[3], b[1] + b[3]);
  return Math.max(0, right - left) * Math.max(0, bottom - top);
}

function overlap(a, b) {
  const shared = intersection(a, b);
  return shared / (a[2] * a[3] + b[2] * b[3] - shared);
}

// MediaPipe's weighted NMS: each cluster of overlapping boxes becomes their score-weighted average.
function weightedSuppression(candidates) {
  let remaining = [...candidates].sort((a, b) => b.score - a.score);
  const faces = [];
  while (remaining.length) {
    const best = remaining[0];
    const cluster = remaining.filter((candidate) => overlap(best.box, candidate.box) > MIN_SUPPRESSION_OVERLAP);
    remaining = remaining.filter((candidate) => overlap(best.box, candidate.box) <= MIN_SUPPRESSION_OVERLAP);
    const total = cluster.reduce((sum, candidate) => sum + candidate.score, 0);
    const average = (pick) => cluster.reduce((sum, candidate) => sum + pick(candidate) * candidate.score, 0) / total;
    faces.push({ score: best.score, box: best.box.map((_, index) => average((candidate) => candidate.box[index])),
                 eyes: best.eyes.map((eye, which) => eye.map((_, axis) => average((c) => c.eyes[which][axis]))) });
  }
  return faces;
}
