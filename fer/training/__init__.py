"""Training: a dataset → a trained, evaluated model folder → the Hugging Face Hub (what `train.py` runs).

`dataset` loads and splits the data, `augment` varies the images, `recipes` holds the settings as plain
data, `schedule` the learning rate, `losses` what a step minimises, `loop` the epochs and checkpoints
(`checkpoint`, `precision`), `calibration` fits the prior correction, `evaluate` scores a model as the app
predicts, `report` and `card` write metrics, plots and the model card, `hub` pushes the model and the
Space, and `pipeline` ties these steps together. It may import the face path, the model and `fer.errors`;
never video or the app.
"""
