"""The face path: an uploaded picture → the faces in it → 48×48 grayscale crops framed as FER-2013 frames
its faces, exactly as training sees them.

`image` decodes any upload into an upright RGB picture (or one clear error), `faces` finds and frames the
faces (YuNet), `tensors` turns crops into the model's uint8 and normalised float batches. It imports only
`fer.errors` and itself: nothing from the model, video, the app or training.
"""
