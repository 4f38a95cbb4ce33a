"""Video: a clip → sampled frames → faces tracked from frame to frame → a timeline per face.

`clip` decodes (PyAV) and writes H.264, with the upload's limits; `tracks` follows each face and smooths
its probabilities (also used by the webcam); `timeline` analyses a whole clip. It imports the face path,
the model and `fer.errors`, never the app or training.
"""
