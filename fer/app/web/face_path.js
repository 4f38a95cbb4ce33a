// The server's face path (fer/face_path/faces.py, tensors.py; fer/model/probabilities.py), in the page:
// detector box → FER-2013's two squares → 48×48 grey (Pillow's Lanczos) → the test-time augmentation's views.
// Every size and constant comes from the settings the app serves (fer/app/browser_live.py).

// Pillow's RGB → L: (R·19595 + G·38470 + B·7471 + 0x8000) >> 16.
export function grey(rgba, index) {
  return (rgba[index] * 19595 + rgba[index + 1] * 38470 + rgba[index + 2] * 7471 + 0x8000) >> 16;
}

// Python's round(): halves go to the even neighbour.
export function roundHalfEven(value) {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}

// Pillow's fixed-point resampling (libImaging/Resample.c) with its Lanczos-3 filter.
const PRECISION_BITS = 22;

function sinc(x) {
  if (x === 0) return 1;
  const angle = x * Math.PI;
  return Math.sin(angle) / angle;
}

function lanczos(x) {
  return x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0;
}

function resampleCoefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 3 * filterScale;
  const taps = [];
  for (let out = 0; out < outSize; out += 1) {
    const centre = (out + 0.5) * scale;
    const first = Math.max(Math.trunc(centre - support + 0.5), 0);
    const end = Math.min(Math.trunc(centre + support + 0.5), inSize);
    const weights = [];
    let total = 0;
    for (let x = first; x < end; x += 1) {
      const weight = lanczos((x - centre + 0.5) / filterScale);
      weights.push(weight);
      total += weight;
    }
    const fixed = weights.map((weight) => {
      const normalised = total !== 0 ? weight / total : weight;
      return Math.trunc(normalised < 0 ? -0.5 + normalised * (1 << PRECISION_BITS)
                                       : 0.5 + normalised * (1 << PRECISION_BITS));
    });
    taps.push({ first, fixed });
  }
  return taps;
}

function clip8(sum) {
  if (sum >= (1 << PRECISION_BITS) * 256) return 255;
  if (sum <= 0) return 0;
  return Math.floor(sum / (1 << PRECISION_BITS));
}

// A side×side uint8 grey square to size×size, horizontal pass first, 8-bit between the passes, as Pillow does.
export function lanczosResize(pixels, side, size) {
  if (side === size) return pixels;
  const taps = resampleCoefficients(side, size);
  const half = 1 << (PRECISION_BITS - 1);
  const rows = new Uint8Array(side * size);
  for (let y = 0; y < side; y += 1) {
    for (let x = 0; x < size; x += 1) {
      const { first, fixed } = taps[x];
      let sum = half;
      for (let k = 0; k < fixed.length; k += 1) sum += pixels[y * side + first + k] * fixed[k];
      rows[y * size + x] = clip8(sum);
    }
  }
  const out = new Uint8Array(size * size);
  for (let y = 0; y < size; y += 1) {
    const { first, fixed } = taps[y];
    for (let x = 0; x < size; x += 1) {
      let sum = half;
      for (let k = 0; k < fixed.length; k += 1) sum += rows[(first + k) * size + x] * fixed[k];
      out[y * size + x] = clip8(sum);
    }
  }
  return out;
}

function movedInside(centre, side, width, height) {
  return [Math.min(Math.max(centre[0], side / 2), width - side / 2),
          Math.min(Math.max(centre[1], side / 2), height - side / 2)];
}

// `fer_squares` for a detector box: the square FER-2013 would show (scale and shift measured for this detector
// by benchmarks/browser_framing.py) and one `looseFraming` times wider, both inside the picture.
export function ferSquares(box, width, height, framing) {
  const [x, y, w, h] = box;
  const rootArea = Math.sqrt(w * h);
  const centre = [x + w / 2 + framing.shift_x * rootArea, y + h / 2 + framing.shift_y * rootArea];
  const shortSide = Math.min(width, height);
  const side = Math.min(framing.scale * rootArea, shortSide);
  if (roundHalfEven(side) >= shortSide) return [[movedInside(centre, shortSide, width, height), shortSide]];
  const looseSide = Math.min(framing.loose_framing * side, shortSide);
  return [side, looseSide].map((square) => [movedInside(centre, square, width, height), square]);
}

// The framing of a face's square: its detector's (a face found in the page) or the settings' own (faces from
// elsewhere, such as the server's YuNet boxes in the tests).
export function framingOf(face, settings) {
  return face.detector ? settings.detectors[face.detector].framing : settings.framing;
}

// How far the eyes' line turns clockwise beyond the tolerated band (0 within it).
export function excessRollDegrees(eyes, toleranceDegrees) {
  if (!eyes) return 0;
  const [left, right] = eyes[0][0] <= eyes[1][0] ? eyes : [eyes[1], eyes[0]];
  const roll = Math.atan2(right[1] - left[1], right[0] - left[0]) * 180 / Math.PI;
  return Math.sign(roll) * Math.max(0, Math.abs(roll) - toleranceDegrees);
}

// A frame is the picture's size and the RGBA pixels of a region of it (`pixels`, at `left`, `top`) that holds
// every pixel its faces' squares need (`regionNeeded`): reading a 640×480 frame whole costs more than the crops.
function greyAt(frame, x, y) {
  const column = Math.min(Math.max(x, 0), frame.width - 1) - frame.left;
  const row = Math.min(Math.max(y, 0), frame.height - 1) - frame.top;
  return grey(frame.pixels.data, (row * frame.pixels.width + column) * 4);
}

// The part of a width×height picture the faces' squares reach, turned or not: [left, top, width, height].
export function regionNeeded(faces, width, height, settings) {
  const squares = faces.flatMap((face) => ferSquares(face.box, width, height, framingOf(face, settings)));
  if (!squares.length) return [0, 0, 1, 1];
  const reach = ([centre, side]) => side / 2 * Math.SQRT2 + 2;
  const left = Math.max(0, Math.floor(Math.min(...squares.map((square) => square[0][0] - reach(square)))));
  const top = Math.max(0, Math.floor(Math.min(...squares.map((square) => square[0][1] - reach(square)))));
  const right = Math.min(width, Math.ceil(Math.max(...squares.map((square) => square[0][0] + reach(square)))));
  const bottom = Math.min(height, Math.ceil(Math.max(...squares.map((square) => square[0][1] + reach(square)))));
  return [left, top, right - left, bottom - top];
}

// `square_around`: the grey square of `side` around `centre`, edge pixels repeated outside the picture; a head
// tilted beyond the band is turned back (bilinear here, bicubic on the server).
function squareAround(frame, centre, side, rollDegrees) {
  const reach = Math.ceil(side / 2 * (Math.abs(Math.cos(rollDegrees * Math.PI / 180))
                                      + Math.abs(Math.sin(rollDegrees * Math.PI / 180)))) + 1;
  const left = Math.floor(centre[0]) - reach;
  const top = Math.floor(centre[1]) - reach;
  const local = [centre[0] - left, centre[1] - top];
  const cropLeft = roundHalfEven(local[0] - side / 2);
  const cropTop = roundHalfEven(local[1] - side / 2);
  const pixelSide = roundHalfEven(local[0] + side / 2) - cropLeft;
  const pixels = new Uint8Array(pixelSide * pixelSide);
  const cos = Math.cos(rollDegrees * Math.PI / 180);
  const sin = Math.sin(rollDegrees * Math.PI / 180);
  for (let row = 0; row < pixelSide; row += 1) {
    for (let column = 0; column < pixelSide; column += 1) {
      const x = left + cropLeft + column;
      const y = top + cropTop + row;
      if (rollDegrees === 0) {
        pixels[row * pixelSide + column] = greyAt(frame, x, y);
        continue;
      }
      // Pillow's rotate(angle) turns anticlockwise: each output pixel samples the picture turned clockwise.
      const dx = x + 0.5 - centre[0];
      const dy = y + 0.5 - centre[1];
      const sourceX = centre[0] + dx * cos + dy * sin - 0.5;
      const sourceY = centre[1] - dx * sin + dy * cos - 0.5;
      const x0 = Math.floor(sourceX);
      const y0 = Math.floor(sourceY);
      const fx = sourceX - x0;
      const fy = sourceY - y0;
      const value = (1 - fy) * ((1 - fx) * greyAt(frame, x0, y0) + fx * greyAt(frame, x0 + 1, y0))
                    + fy * ((1 - fx) * greyAt(frame, x0, y0 + 1) + fx * greyAt(frame, x0 + 1, y0 + 1));
      pixels[row * pixelSide + column] = Math.round(value);
    }
  }
  return { pixels, side: pixelSide };
}

// The 48×48 grey crops averaged for one face (`face_crops`).
export function faceCrops(frame, face, settings) {
  const framing = framingOf(face, settings);
  const roll = excessRollDegrees(face.eyes, framing.roll_tolerance_degrees);
  return ferSquares(face.box, frame.width, frame.height, framing).map(([centre, side]) => {
    const square = squareAround(frame, centre, side, roll);
    return lanczosResize(square.pixels, square.side, settings.image_size);
  });
}

// Where each test-time augmentation view of a crop lies ([top, left, mirrored]), as fer/model/probabilities.py's
// tta_views takes them: the centre square; and its mirror; or torchvision's ten_crop (corners, centre, mirrored).
export function viewPlaces(tta, imageSize, size) {
  const centre = roundHalfEven((imageSize - size) / 2);
  const far = imageSize - size;
  if (tta === 'none') return [[centre, centre, false]];
  if (tta !== 'tencrop') return [[centre, centre, false], [centre, centre, true]];
  const five = [[0, 0], [0, far], [far, 0], [far, far], [centre, centre]];
  return [false, true].flatMap((mirrored) => five.map(([top, left]) => [top, left, mirrored]));
}

// The model's input for each crop: its `tta` views (viewPlaces), normalised, crop after crop.
export function modelViews(crops, settings, tta) {
  const { input_size: size, mean, std } = settings.model;
  const places = viewPlaces(tta, settings.image_size, size);
  const views = new Float32Array(crops.length * places.length * size * size);
  crops.forEach((crop, index) => {
    places.forEach(([top, left, mirrored], place) => {
      const first = (index * places.length + place) * size * size;
      for (let row = 0; row < size; row += 1) {
        for (let column = 0; column < size; column += 1) {
          const value = (crop[(top + row) * settings.image_size + left + column] / 255 - mean) / std;
          views[first + row * size + (mirrored ? size - 1 - column : column)] = value;
        }
      }
    });
  });
  return views;
}

// The ONNX model corrects each view; the server corrects the views' mean: undo, average, correct once.
export function averagedCorrected(perView, viewCount, prior) {
  const classes = prior.length;
  const mean = new Array(classes).fill(0);
  for (let view = 0; view < viewCount; view += 1) {
    const raw = prior.map((multiplier, index) => perView[view * classes + index] / multiplier);
    const total = raw.reduce((sum, value) => sum + value, 0);
    raw.forEach((value, index) => { mean[index] += value / total / viewCount; });
  }
  const scaled = mean.map((value, index) => value * prior[index]);
  const total = scaled.reduce((sum, value) => sum + value, 0);
  return scaled.map((value) => value / total);
}
