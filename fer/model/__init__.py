"""The model and what it outputs: 48×48 crops → per-class probabilities.

`classifier` is `EmotionClassifier` (config.json + model.safetensors, loaded locally or from the Hub),
`architectures/` the networks, one per module; `probabilities` applies test-time augmentation and the
prior correction; `analysis` runs a whole picture through the face path and the model; `gradcam` shows
what drove a prediction; `onnx_export` writes model.onnx. It imports the face path and `fer.errors`,
never video, the app or training.
"""
