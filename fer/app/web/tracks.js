// fer/video/tracks.py's Tracker in the page: each face keeps its number from frame to frame, and its displayed
// probabilities are an exponential moving average with a time constant in seconds ("Steady labels").

function shift(previous, box, maxSizeRatio) {
  const size = Math.max(box[2], box[3]);
  const previousSize = Math.max(previous[2], previous[3]);
  if (Math.max(size, previousSize) > maxSizeRatio * Math.min(size, previousSize)) return Infinity;
  const distance = Math.hypot(box[0] + box[2] / 2 - previous[0] - previous[2] / 2,
                              box[1] + box[3] / 2 - previous[1] - previous[3] / 2);
  return distance / ((size + previousSize) / 2);
}

export class Tracker {
  constructor({ smoothing_s: smoothingS, max_shift: maxShift, max_size_ratio: maxSizeRatio, max_missing_s: maxMissingS }) {
    Object.assign(this, { smoothingS, maxShift, maxSizeRatio, maxMissingS, tracks: [], lastId: 0 });
  }

  // The track of each box, in the order given: an earlier face's, or a new one (its `smoothed` still null).
  assign(boxes, timeS) {
    this.tracks = this.tracks.filter((track) => timeS - track.lastSeenS <= this.maxMissingS);
    const matches = this.match(boxes);
    return boxes.map((box, index) => {
      if (matches.has(index)) return matches.get(index);
      this.lastId += 1;
      const track = { id: this.lastId, box, lastSeenS: timeS, smoothed: null };
      this.tracks.push(track);
      return track;
    });
  }

  // The track's displayed probabilities after this frame's.
  smooth(track, box, probabilities, timeS) {
    const weight = track.smoothed === null || this.smoothingS <= 0 ? 1
      : 1 - Math.exp(-Math.max(timeS - track.lastSeenS, 0) / this.smoothingS);
    track.smoothed = probabilities.map((value, k) => (track.smoothed === null ? 0 : (1 - weight) * track.smoothed[k])
                                                    + weight * value);
    Object.assign(track, { box, lastSeenS: timeS });
    return [...track.smoothed];
  }

  // Box index → existing track, smallest moves first, each track and box used once.
  match(boxes) {
    const pairs = [];
    boxes.forEach((box, index) => this.tracks.forEach((track) => {
      const moved = shift(track.box, box, this.maxSizeRatio);
      if (moved <= this.maxShift) pairs.push([moved, index, track]);
    }));
    pairs.sort((a, b) => a[0] - b[0]);
    const matches = new Map();
    const used = new Set();
    for (const [, index, track] of pairs) {
      if (matches.has(index) || used.has(track)) continue;
      matches.set(index, track);
      used.add(track);
    }
    return matches;
  }
}
