// Faces near and far in each camera frame. BlazeFace short range looks at the whole frame every frame; full range,
// which finds faces a few metres back, looks at one view per frame in turn: the whole frame, then each of four
// overlapping parts at twice that scale (a 27-px face in 640×480 is 14 px in its input). A still scene has been
// searched everywhere after five frames, and a face found in a view is kept until that view's next turn.
import { intersection } from './detector.js';

const PART = 0.6;  // each part's share of the frame's width and height: neighbours overlap by a fifth of the frame
const SAME_FACE = 0.5;  // a far face whose box lies this much inside a nearer (or likelier) one is that face

// The whole frame, then its four corners' parts, as [left, top, width, height].
function views(width, height) {
  const [partWidth, partHeight] = [Math.round(width * PART), Math.round(height * PART)];
  const corners = [[0, 0], [width - partWidth, 0], [0, height - partHeight], [width - partWidth, height - partHeight]];
  return [[0, 0, width, height], ...corners.map(([left, top]) => [left, top, partWidth, partHeight])];
}

export class FaceFinder {
  constructor(near, far) {
    Object.assign(this, { near, far, turn: 0, farFaces: [] });
  }

  // This frame's faces, largest first: short range's, then full range's latest from every view not already found.
  async find(source, width, height, minFaceSide) {
    const nearFaces = await this.near.detect(source, [0, 0, width, height], minFaceSide);
    const frameViews = views(width, height);
    const turn = this.turn % frameViews.length;
    this.turn += 1;
    this.farFaces[turn] = await this.far.detect(source, frameViews[turn], minFaceSide);
    return merged(nearFaces, this.farFaces.flat());
  }

  // Every view at once, as five frames of a still scene give them (the reach benchmark's and the tests' way in).
  async findEverywhere(source, width, height, minFaceSide) {
    const nearFaces = await this.near.detect(source, [0, 0, width, height], minFaceSide);
    const farFaces = [];
    for (const view of views(width, height)) farFaces.push(...await this.far.detect(source, view, minFaceSide));
    return merged(nearFaces, farFaces);
  }
}

function merged(nearFaces, farFaces) {
  const faces = [...nearFaces];
  for (const face of [...farFaces].sort((a, b) => b.score - a.score)) {
    const area = face.box[2] * face.box[3];
    if (faces.every((kept) => intersection(kept.box, face.box) < SAME_FACE * Math.min(area, kept.box[2] * kept.box[3]))) {
      faces.push(face);
    }
  }
  return faces.sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3]);
}
