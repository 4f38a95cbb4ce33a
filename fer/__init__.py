"""The library behind `app.py` and `train.py`, one sub-package per part, in the order a picture flows:

    face_path  picture → faces → 48×48 crops     (image, faces, tensors)
    model      crops → class probabilities        (classifier, architectures/, probabilities, analysis, ...)
    video      clips → frames → tracked faces     (clip, tracks, timeline)
    app        results → what the Gradio app and the `fer.predict` command show (handlers, chart, ...)
    training   data → a trained model folder → the Hub (dataset, augment, recipes, loop, pipeline, ...)

`errors` is shared by all. `predict`, `evaluate` and `onnx_export` here are the commands
(`python -m fer.predict` ...). The layer rules (docs/code.md) are checked by tests/test_layout.py.
"""
