"""The app's glue: what the Gradio app (`app.py`) and the `python -m fer.predict` command do with results.

`handlers` serve the Photo and Webcam tabs, `video_handlers` the Video tab, `chart` draws boxes, bar charts
and timelines, `cache_sweeper` deletes cached uploads, `cli` is the command line. It may import the face
path, the model, video and `fer.errors`; never training.
"""
